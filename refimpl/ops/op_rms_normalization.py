import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._precision import normalize_axis, stash, widen


@reference_op("RMSNormalization", since=23, dtypes=FLOAT)
def rms_normalization_23(
    x: np.ndarray, scale: np.ndarray, *, axis: int = -1, epsilon: float = 1e-5, stash_type: int = 1
) -> np.ndarray:
    """y = x / sqrt(mean(x^2 over axes [axis, rank)) + eps) * scale"""
    ax = normalize_axis(axis, x.ndim)
    xs = stash(x, stash_type)
    ms = np.mean(xs * xs, axis=tuple(range(ax, x.ndim)), keepdims=True)
    normalized = (xs / np.sqrt(ms + epsilon)).astype(x.dtype)
    return (widen(normalized) * widen(scale)).astype(x.dtype, copy=False)
