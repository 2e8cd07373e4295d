import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("LessOrEqual", since=12, dtypes=NUMERIC)
def less_or_equal_12(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a <= b (bool; numpy broadcasting)"""
    return np.asarray(np.less_equal(a, b), dtype=np.bool_)
