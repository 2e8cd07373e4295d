import numpy as np

from ..ops._im2col import col2im, windows
from ..ops._pooling import avg_pool
from ..ops._window import window
from .contract import gradient_op, like, work


@gradient_op("AveragePool", since=7, takes=("dy", "x0"), wrt=(0,))
def average_pool_grad_7(
    dy: np.ndarray,
    x: np.ndarray,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    count_include_pad: int = 0,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> tuple[np.ndarray]:
    """dx[p] = Σ over the windows o that cover p of dy[o] / divisor[o] (the forward's divisor)"""
    win = window(
        x.shape[2:],
        kernel_shape,
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
        ceil_mode=ceil_mode,
    )
    g = work(dy)
    ones = np.ones((1, 1) + x.shape[2:], g.dtype)
    # the forward's 1/divisor: its output on ones over the number of taps inside the input
    inside = windows(ones, win, 0).sum(axis=tuple(range(2, 2 + len(win.kernel))))
    weight = np.where(inside > 0, avg_pool(ones, win, count_include_pad) / np.maximum(inside, 1), 0)
    taps = np.broadcast_to(
        (g * weight).reshape(g.shape[:2] + (1,) * len(win.kernel) + win.out),
        g.shape[:2] + win.kernel + win.out,
    )
    dx = col2im(taps, win.kernel, win.strides, win.dilations, win.pads_begin, x.shape[2:])
    return (like(dx, x),)
