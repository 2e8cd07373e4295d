import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Add", since=7, dtypes=NUMERIC)
def add_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a + b (numpy broadcasting; integers wrap)"""
    return np.add(a, b, dtype=a.dtype)
