import numpy as np

from ..registry import reference_op


@reference_op("Or", since=7, dtypes={"bool"})
def or_7(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = a or b (numpy broadcasting)"""
    return np.logical_or(a, b)
