import math

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._im2col import col2im, float_compute
from ._window import auto_pad_name, spatial_attr, split_pads


@reference_op("ConvTranspose", since=1, dtypes=FLOAT)
def conv_transpose_1(
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
) -> np.ndarray:
    """y[n, m, i*s + k*d - pad_begin] += sum_c W[c, m, k] x[n, c, i], plus b[m]

    An odd padding derived from output_shape or SAME_* goes to the end only for SAME_UPPER (the
    opset-1 text said the opposite; ONNX Runtime and onnx.reference apply this rule at every opset).
    """
    n, c, *in_sp = x.shape
    rank = len(in_sp)
    if group < 1 or c != w.shape[0] or c % group:
        raise OpArgumentError(
            f"x has {c} channels, W {list(w.shape)}: need W[0] == C, C % group == 0"
        )
    kernel = tuple(w.shape[2:])
    strides_, dils, begin, out = conv_transpose_geometry(
        in_sp, kernel, auto_pad, dilations, output_padding, output_shape, pads, strides
    )
    group_in, m_per_group = c // group, w.shape[1]
    xs = float_compute(x).reshape(n, group, group_in, math.prod(in_sp))
    wt = float_compute(w).reshape(group, group_in, m_per_group * math.prod(kernel))
    cols = np.matmul(wt.transpose(0, 2, 1), xs).reshape(n, group * m_per_group, *kernel, *in_sp)
    y = col2im(cols, kernel, strides_, dils, begin, out)
    if b is not None:
        y += float_compute(b).reshape((1, -1) + (1,) * rank)
    return y.astype(x.dtype, copy=False)


def conv_transpose_geometry(
    in_sp: list[int] | tuple[int, ...],
    kernel: tuple[int, ...],
    auto_pad: str | None,
    dilations: list[int] | None,
    output_padding: list[int] | None,
    output_shape: list[int] | None,
    pads: list[int] | None,
    strides: list[int] | None,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], list[int]]:
    """(strides, dilations, pads_begin, output spatial shape): y's position i*s + k*d - pads_begin
    receives x[i]; every backend and the gradient derive the geometry here"""
    rank = len(in_sp)
    strides_ = spatial_attr("strides", strides, rank, 1, 1)
    dils = spatial_attr("dilations", dilations, rank, 1, 1)
    out_pad = spatial_attr("output_padding", output_padding, rank, 0, 0)
    mode = auto_pad_name(auto_pad or "NOTSET")
    full = [
        s * (i - 1) + op + (k - 1) * d + 1
        for s, i, op, k, d in zip(strides_, in_sp, out_pad, kernel, dils)
    ]
    if output_shape or mode in ("SAME_UPPER", "SAME_LOWER"):
        if output_shape:
            out = [int(v) for v in output_shape[-rank:]]
        else:
            out = [i * s for i, s in zip(in_sp, strides_)]
        totals = [f - o for f, o in zip(full, out)]
        begin = tuple(t // 2 if mode == "SAME_UPPER" else t - t // 2 for t in totals)
    else:
        begin, end = split_pads(pads if mode == "NOTSET" else None, rank)
        out = [f - pb - pe for f, pb, pe in zip(full, begin, end)]
    return tuple(strides_), tuple(dils), tuple(begin), out
