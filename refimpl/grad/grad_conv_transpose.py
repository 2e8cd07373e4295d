import math

import numpy as np

from ..errors import OpArgumentError
from ..ops._im2col import windows
from ..ops._window import Window
from ..ops.op_conv_transpose import conv_transpose_geometry
from .contract import gradient_op, like, work


@gradient_op("ConvTranspose", since=1, takes=("dy", "x0", "x1", "x2"), wrt=(0, 1, 2))
def conv_transpose_grad_1(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    output_padding: list[int] | None = None,
    output_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """cols = windows of dy (the adjoint of the forward's col2im): dx_g = w_g @ cols_g (a Conv),
    dw_g = Σ_n x_g @ cols_g^T, db = Σ_{n,o} dy"""
    n, c, *in_sp = x.shape
    rank = len(in_sp)
    if group < 1 or c != w.shape[0] or c % group:
        raise OpArgumentError(
            f"x has {c} channels, W {list(w.shape)}: need W[0] == C, C % group == 0"
        )
    kernel = tuple(w.shape[2:])
    strides_, dils, begin, _ = conv_transpose_geometry(
        in_sp, kernel, auto_pad, dilations, output_padding, output_shape, pads, strides
    )
    # Output position i*s + k*d - begin gathers back to x[i]: dy's windows, with dy padded by
    # `begin` (a negative begin crops), one window per input position.
    g = work(dy)
    crop = tuple(slice(max(-p, 0), None) for p in begin)
    g = g[(slice(None), slice(None), *crop)]
    win = Window(kernel, strides_, dils, tuple(max(p, 0) for p in begin), (0,) * rank, tuple(in_sp))
    cols = windows(g, win, 0).reshape(n, group, -1, math.prod(in_sp))  # (N, G, Mg*K, L)
    xs = work(x).reshape(n, group, c // group, math.prod(in_sp))
    wt = work(w).reshape(group, c // group, -1)  # (G, Cg, Mg*K)
    dx = np.matmul(wt, cols).reshape(x.shape)
    dw = np.einsum("ngcl,ngkl->gck", xs, cols).reshape(w.shape)
    db = None if b is None else like(work(dy).sum(axis=(0, *range(2, dy.ndim))), b)
    return like(dx, x), like(dw, w), db
