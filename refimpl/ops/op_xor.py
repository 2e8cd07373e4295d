import numpy as np

from ..registry import reference_op


@reference_op("Xor", since=7, dtypes={"bool"})
def xor_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a xor b (numpy broadcasting)"""
    return np.logical_xor(a, b)
