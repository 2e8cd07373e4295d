import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Mul", since=7, dtypes=NUMERIC)
def mul_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a * b (numpy broadcasting; integers wrap)"""
    return np.multiply(a, b, dtype=a.dtype)
