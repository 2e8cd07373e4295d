import numpy as np

from ..ops._precision import channel_shape
from .contract import gradient_op, like, work


def _moments(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    return np.mean(x, axis=axes), np.var(x, axis=axes)


@gradient_op("BatchNormalization", since=9, takes=("dy", "x0", "x1", "x2", "x3", "x4"),
             wrt=(0, 1, 2, 3, 4))  # fmt: skip
def batch_normalization_grad_9(
    dy: np.ndarray,
    x: np.ndarray,
    scale: np.ndarray,
    b: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    training_mode: int = 0,
    num_outputs: int = 1,
) -> tuple[np.ndarray | None, ...]:
    """inference: xh = (x - mean) r, r = (var + eps)^-1/2: dx = dy scale r, dscale = Σ dy xh,
    db = Σ dy, dmean = -Σ dy scale r, dvar = -1/2 Σ dy scale (x - mean) r^3.
    training (batch moments over N and the spatial axes, m elements per channel):
    dx = r/m (m dxh - Σ dxh - xh Σ dxh xh) with dxh = dy scale; the running statistics get none"""
    axes = (0, *range(2, x.ndim))
    shape = channel_shape(x)
    g, x_ = work(dy), work(x)
    if training_mode:
        mean_, var_ = _moments(x_, axes)
    else:
        mean_, var_ = work(mean), work(var)
    r = 1.0 / np.sqrt(var_ + epsilon)
    centred = x_ - mean_.reshape(shape)
    xh = centred * r.reshape(shape)
    dscale = np.sum(g * xh, axis=axes)
    db = np.sum(g, axis=axes)
    k = (work(scale) * r).reshape(shape)
    if training_mode:
        m = x.size // x.shape[1]
        dx = k / m * (m * g - db.reshape(shape) - xh * dscale.reshape(shape))
        return like(dx, x), like(dscale, scale), like(db, b), None, None
    dmean = -np.sum(g, axis=axes) * work(scale) * r
    dvar = -0.5 * np.sum(g * centred, axis=axes) * work(scale) * r**3
    return like(g * k, x), like(dscale, scale), like(db, b), like(dmean, mean), like(dvar, var)
