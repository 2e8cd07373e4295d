import math

import numpy as np

from ..ops._im2col import check_groups, col2im, im2col
from ..ops._window import window
from .contract import gradient_op, like, work


@gradient_op("Conv", since=1, takes=("dy", "x0", "x1", "x2"), wrt=(0, 1, 2))
def conv_grad_1(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """dw_g = Σ_n dy_g @ cols_g^T; dx = col2im(w_g^T @ dy_g) (a ConvTranspose); db = Σ_{n,o} dy"""
    win = window(
        x.shape[2:],
        kernel_shape or w.shape[2:],
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
    )
    n, c = x.shape[:2]
    check_groups(c, w.shape, group)
    g = work(dy).reshape(n, group, w.shape[0] // group, math.prod(win.out))
    cols = im2col(work(x), win).reshape(n, group, -1, math.prod(win.out))  # (N, G, Cg*K, L)
    w_g = work(w).reshape(group, w.shape[0] // group, -1)  # (G, Mg, Cg*K)
    dw = np.einsum("ngml,ngkl->gmk", g, cols).reshape(w.shape)
    dcols = np.matmul(w_g.transpose(0, 2, 1), g).reshape(n, c, *win.kernel, *win.out)
    dx = col2im(dcols, win.kernel, win.strides, win.dilations, win.pads_begin, x.shape[2:])
    db = None if b is None else like(work(dy).sum(axis=(0, *range(2, dy.ndim))), b)
    return like(dx, x), like(dw, w), db
