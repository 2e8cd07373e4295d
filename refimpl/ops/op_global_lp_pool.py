import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._im2col import float_compute


@reference_op("GlobalLpPool", since=2, dtypes=FLOAT)
def global_lp_pool_2(x: np.ndarray, *, p: int = 2) -> np.ndarray:
    """y[n, c, 1, ..., 1] = (sum over the spatial axes of |x[n, c]|^p)^(1/p)"""
    xf = float_compute(x)
    total = (np.abs(xf) ** xf.dtype.type(p)).sum(axis=tuple(range(2, x.ndim)), keepdims=True)
    return (total ** xf.dtype.type(1.0 / p)).astype(x.dtype)
