import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Sub", since=7, dtypes=NUMERIC)
def sub_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a - b (numpy broadcasting; integers wrap)"""
    return np.subtract(a, b, dtype=a.dtype)
