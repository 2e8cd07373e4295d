import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Sign", since=9, dtypes=NUMERIC)
def sign_9(x: np.ndarray) -> np.ndarray:
    """y = -1, 0 or 1 by the sign of x (NaN stays NaN)"""
    return np.sign(x)
