import numpy as np

from ..ops._precision import normalize_axis
from .contract import gradient_op, like, unbroadcast, work


@gradient_op("LayerNormalization", since=17, takes=("dy", "x0", "x1", "x2"), wrt=(0, 1, 2))
def layer_normalization_grad_17(
    dy: np.ndarray,
    x: np.ndarray,
    scale: np.ndarray,
    b: np.ndarray | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-5,
    stash_type: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """xh = (x - mean) r over axes [axis, rank): dx = r (dxh - mean(dxh) - xh mean(dxh xh)) with
    dxh = dy scale; dscale = unbroadcast(dy xh), db = unbroadcast(dy) (the mean and inv_std
    outputs get no cotangent)"""
    axes = tuple(range(normalize_axis(axis, x.ndim), x.ndim))
    g, x_ = work(dy), work(x)
    centred = x_ - np.mean(x_, axis=axes, keepdims=True)
    r = 1.0 / np.sqrt(np.mean(centred * centred, axis=axes, keepdims=True) + epsilon)
    xh = centred * r
    dxh = g * work(scale)
    dx = r * (
        dxh
        - np.mean(dxh, axis=axes, keepdims=True)
        - xh * np.mean(dxh * xh, axis=axes, keepdims=True)
    )
    dscale = unbroadcast(g * xh, scale.shape)
    db = None if b is None else like(unbroadcast(g, b.shape), b)
    return like(dx, x), like(dscale, scale), db
