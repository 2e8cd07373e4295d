import numpy as np

from ..registry import reference_op


@reference_op("Where", since=9, dtypes={"bool"})
def where_9(condition: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z = x where condition else y (numpy broadcasting of all three)"""
    return np.where(condition, x, y).astype(x.dtype, copy=False)
