import numpy as np

from ..registry import reference_op


@reference_op("And", since=7, dtypes={"bool"})
def and_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a and b (numpy broadcasting)"""
    return np.logical_and(a, b)
