import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._im2col import float_compute


@reference_op("GlobalAveragePool", since=1, dtypes=FLOAT)
def global_average_pool_1(x: np.ndarray) -> np.ndarray:
    """y[n, c, 1, ..., 1] = mean over the spatial axes of x[n, c]"""
    axes = tuple(range(2, x.ndim))
    return float_compute(x).mean(axis=axes, keepdims=True).astype(x.dtype)
