import numpy as np

from ..registry import reference_op


@reference_op("Not", since=1, dtypes={"bool"})
def not_1(x: np.ndarray) -> np.ndarray:
    """y = not x"""
    return np.logical_not(x)
