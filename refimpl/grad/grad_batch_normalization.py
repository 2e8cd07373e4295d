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
    if not training_mode:
        return _inference(g, x, scale, b, mean, var, epsilon, shape, axes)
    mean_, var_ = _moments(x_, axes)
    r = 1.0 / np.sqrt(var_ + epsilon)
    xh = (x_ - mean_.reshape(shape)) * r.reshape(shape)
    dscale = np.sum(g * xh, axis=axes)
    db = np.sum(g, axis=axes)
    k = (work(scale) * r).reshape(shape)
    m = x.size // x.shape[1]
    dx = k / m * (m * g - db.reshape(shape) - xh * dscale.reshape(shape))
    return like(dx, x), like(dscale, scale), like(db, b), None, None


@gradient_op("BatchNormalization", since=7, takes=("dy", "x0", "x1", "x2", "x3", "x4"),
             wrt=(0, 1, 2, 3, 4))  # fmt: skip
def batch_normalization_grad_7(
    dy: np.ndarray,
    x: np.ndarray,
    scale: np.ndarray,
    b: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    *,
    epsilon: float = 1e-5,
    momentum: float = 0.9,
    spatial: int = 1,
    num_outputs: int = 1,
) -> tuple[np.ndarray | None, ...]:
    """as opset 9's inference form; spatial=0: statistics per (C, D1..Dn), summed over N only"""
    shape, axes = (channel_shape(x), (0, *range(2, x.ndim))) if spatial else (x.shape[1:], (0,))
    return _inference(work(dy), x, scale, b, mean, var, epsilon, shape, axes)


def _inference(g, x, scale, b, mean, var, epsilon, shape, axes) -> tuple[np.ndarray, ...]:
    """The inference-mode cotangents, the statistics broadcast to `shape`, summed over `axes`."""
    r = 1.0 / np.sqrt(work(var) + epsilon)
    centred = work(x) - work(mean).reshape(shape)
    k = (work(scale) * r).reshape(shape)
    dscale = np.sum(g * centred * r.reshape(shape), axis=axes)
    db = np.sum(g, axis=axes)
    dmean = -np.sum(g, axis=axes) * work(scale) * r
    dvar = -0.5 * np.sum(g * centred, axis=axes) * work(scale) * r**3
    return like(g * k, x), like(dscale, scale), like(db, b), like(dmean, mean), like(dvar, var)
