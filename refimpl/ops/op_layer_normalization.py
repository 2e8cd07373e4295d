import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._precision import normalize_axis, stash, widen


@reference_op("LayerNormalization", since=17, dtypes=FLOAT)
def layer_normalization_17(
    x: np.ndarray,
    scale: np.ndarray,
    b: np.ndarray | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-5,
    stash_type: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = (x - mean) * inv_std * scale + b, moments over axes [axis, rank); also mean, inv_std"""
    ax = normalize_axis(axis, x.ndim)
    xs = stash(x, stash_type)
    axes = tuple(range(ax, x.ndim))
    mean = np.mean(xs, axis=axes, keepdims=True)
    centred = xs - mean
    inv_std = 1 / np.sqrt(np.mean(centred * centred, axis=axes, keepdims=True) + epsilon)
    inv_std = inv_std.astype(xs.dtype, copy=False)
    # the normalised value is rounded to x's type before the affine part, as the function body does
    y = widen((centred * inv_std).astype(x.dtype)) * widen(scale)
    if b is not None:
        y = y + widen(b)
    return y.astype(x.dtype, copy=False), mean, inv_std
