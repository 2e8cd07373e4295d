import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("PRelu", since=7, dtypes=FLOAT | {"int32", "int64", "uint32", "uint64"})
def prelu_7(x: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """y = x if x >= 0 else slope * x (slope broadcasts to x's shape)"""
    try:
        fits = np.broadcast_shapes(x.shape, slope.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise OpArgumentError(f"PRelu slope of shape {slope.shape} does not broadcast to {x.shape}")
    return np.where(x < 0, x * slope, x).astype(x.dtype, copy=False)
