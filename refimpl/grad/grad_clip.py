import numpy as np

from .contract import gradient_op, like, unbroadcast, work

_FLT_MAX = 3.4028234663852886e38


@gradient_op("Clip", since=6, takes=("dy", "x0"), wrt=(0,))
def clip_grad_6(
    dy: np.ndarray, x: np.ndarray, *, min: float = -_FLT_MAX, max: float = _FLT_MAX
) -> tuple[np.ndarray]:
    """dx = dy where min <= x <= max, else 0"""
    dx, _, _ = clip_grad_11(dy, x, np.asarray(min), np.asarray(max))
    return (dx,)


@gradient_op("Clip", since=11, takes=("dy", "x0", "x1", "x2"), wrt=(0, 1, 2))
def clip_grad_11(
    dy: np.ndarray, x: np.ndarray, min: np.ndarray | None = None, max: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """y = min(max(x, lo), hi): dx = dy where lo <= x <= hi; dlo = Σ dy where x < lo <= hi;
    dhi = Σ dy where max(x, lo) > hi (so hi wins when lo > hi, as the forward does)"""
    g, x_ = work(dy), work(x)
    lo = work(min) if min is not None else np.asarray(-np.inf, x_.dtype)
    hi = work(max) if max is not None else np.asarray(np.inf, x_.dtype)
    to_hi = np.maximum(x_, lo) > hi
    to_lo = (x_ < lo) & ~to_hi
    zero = np.zeros((), g.dtype)
    dx = np.where(to_hi | to_lo, zero, g)
    dlo = None if min is None else like(unbroadcast(np.where(to_lo, g, zero), min.shape), min)
    dhi = None if max is None else like(unbroadcast(np.where(to_hi, g, zero), max.shape), max)
    return like(dx, x), dlo, dhi
