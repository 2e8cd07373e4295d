import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("GreaterOrEqual", since=12, dtypes=NUMERIC)
def greater_or_equal_12(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a >= b (bool; numpy broadcasting)"""
    return np.asarray(np.greater_equal(a, b), dtype=np.bool_)
