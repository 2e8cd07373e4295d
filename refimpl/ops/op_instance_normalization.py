import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import channel_shape, widen


@reference_op("InstanceNormalization", since=6, dtypes=FLOAT)
def instance_normalization_6(
    x: np.ndarray, scale: np.ndarray, b: np.ndarray, *, epsilon: float = 1e-5
) -> np.ndarray:
    """y[n, c] = (x[n, c] - mean) / sqrt(var + eps) * scale[c] + b[c], moments over D1..Dn"""
    if x.ndim < 3:
        raise OpArgumentError(f"InstanceNormalization needs (N, C, D1, ...), got shape {x.shape}")
    xw = widen(x)
    axes = tuple(range(2, x.ndim))
    mean = np.mean(xw, axis=axes, keepdims=True)
    var = np.var(xw, axis=axes, keepdims=True)
    s = widen(scale).reshape(channel_shape(x))
    bb = widen(b).reshape(channel_shape(x))
    y = (xw - mean) / np.sqrt(var + xw.dtype.type(epsilon)) * s + bb
    return y.astype(x.dtype, copy=False)
