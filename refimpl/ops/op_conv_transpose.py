import math

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._cv_geometry import auto_pad_name, spatial_attr, split_pads
from ._cv_im2col import col2im, float_compute


def _conv_transpose(x, w, b, attrs: dict, extra_pad_at_end: bool) -> np.ndarray:
    """Shared body; `extra_pad_at_end` says where an odd total padding derived from output_shape
    puts its extra element (the rule changed in opset 11)."""
    n, c, *in_sp = x.shape
    rank, group = len(in_sp), attrs["group"]
    if group < 1 or c != w.shape[0] or c % group:
        raise OpArgumentError(
            f"x has {c} channels, W {list(w.shape)}: need W[0] == C, C % group == 0"
        )
    kernel = tuple(w.shape[2:])
    strides = spatial_attr("strides", attrs["strides"], rank, 1, 1)
    dils = spatial_attr("dilations", attrs["dilations"], rank, 1, 1)
    out_pad = spatial_attr("output_padding", attrs["output_padding"], rank, 0, 0)
    mode = auto_pad_name(attrs["auto_pad"])
    full = [
        s * (i - 1) + op + (k - 1) * d + 1
        for s, i, op, k, d in zip(strides, in_sp, out_pad, kernel, dils)
    ]
    out_shape = attrs["output_shape"]
    if out_shape:
        out = [int(v) for v in out_shape[-rank:]]
    elif mode in ("SAME_UPPER", "SAME_LOWER"):
        out = [i * s for i, s in zip(in_sp, strides)]
        extra_pad_at_end = mode == "SAME_UPPER"
    else:
        begin, end = split_pads(attrs["pads"] if mode == "NOTSET" else None, rank)
        out = [f - pb - pe for f, pb, pe in zip(full, begin, end)]
    if out_shape or mode in ("SAME_UPPER", "SAME_LOWER"):
        totals = [f - o for f, o in zip(full, out)]
        begin = tuple(t // 2 if extra_pad_at_end else t - t // 2 for t in totals)
    group_in, m_per_group = c // group, w.shape[1]
    xs = float_compute(x).reshape(n, group, group_in, math.prod(in_sp))
    wt = float_compute(w).reshape(group, group_in, -1).transpose(0, 2, 1)
    cols = np.matmul(wt, xs).reshape(n, group * m_per_group, *kernel, *in_sp)
    y = col2im(cols, kernel, strides, dils, begin, out)
    if b is not None:
        y += float_compute(b).reshape((1, -1) + (1,) * rank)
    return y.astype(x.dtype, copy=False)


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
    """y = col2im(W^T x) + b; an odd padding derived from output_shape goes to the end unless
    SAME_UPPER"""
    attrs = dict(
        auto_pad=auto_pad, dilations=dilations, group=group, output_padding=output_padding,
        output_shape=output_shape, pads=pads, strides=strides,
    )  # fmt: skip
    return _conv_transpose(x, w, b, attrs, extra_pad_at_end=auto_pad_name(auto_pad) != "SAME_UPPER")


@reference_op("ConvTranspose", since=11, dtypes=FLOAT)
def conv_transpose_11(
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
    """y[n, m, i*s + k*d - pad_begin] += sum_c W[c, m, k] x[n, c, i], plus b[m]; an odd padding
    derived from output_shape goes to the end only for SAME_UPPER"""
    attrs = dict(
        auto_pad=auto_pad, dilations=dilations, group=group, output_padding=output_padding,
        output_shape=output_shape, pads=pads, strides=strides,
    )  # fmt: skip
    return _conv_transpose(x, w, b, attrs, extra_pad_at_end=auto_pad_name(auto_pad) == "SAME_UPPER")
