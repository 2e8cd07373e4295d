import numpy as np

from ..dtypes import ALL
from ..registry import reference_op


@reference_op("Equal", since=7, dtypes=ALL)
def equal_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a == b (bool; numpy broadcasting)"""
    return np.asarray(np.equal(a, b), dtype=np.bool_)
