import numpy as np

from ..dtypes import FLOAT, SIGNED_INT
from ..registry import reference_op


@reference_op("Neg", since=6, dtypes=FLOAT | SIGNED_INT)
def neg_6(x: np.ndarray) -> np.ndarray:
    """y = -x (integers wrap)"""
    return np.negative(x)
