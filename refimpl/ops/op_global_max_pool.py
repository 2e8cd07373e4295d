import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op


@reference_op("GlobalMaxPool", since=1, dtypes=FLOAT)
def global_max_pool_1(x: np.ndarray) -> np.ndarray:
    """y[n, c, 1, ..., 1] = max over the spatial axes of x[n, c]"""
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)
