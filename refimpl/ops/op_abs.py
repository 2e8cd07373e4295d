import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Abs", since=6, dtypes=NUMERIC)
def abs_6(x: np.ndarray) -> np.ndarray:
    """y = |x| (the most negative signed integer wraps to itself)"""
    return np.abs(x)
