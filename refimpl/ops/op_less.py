import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op


@reference_op("Less", since=7, dtypes=NUMERIC)
def less_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a < b (bool; numpy broadcasting)"""
    return np.asarray(np.less(a, b), dtype=np.bool_)
