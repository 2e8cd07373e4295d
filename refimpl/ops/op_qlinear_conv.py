import numpy as np

from ..registry import reference_op
from ._quant import channel_param, int_conv, requantize, shifted
from ._window import window


@reference_op("QLinearConv", since=10, dtypes={"int8", "uint8"})
def qlinear_conv_10(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    w: np.ndarray,
    w_scale: np.ndarray,
    w_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    b: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y = saturate(rint((conv(x - x_zp, w - w_zp) + b) * x_scale * w_scale / y_scale) + y_zp),
    accumulated in int32; w_scale and w_zero_point are per tensor or per output channel"""
    win = window(
        x.shape[2:],
        kernel_shape or w.shape[2:],
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
    )
    rank, m = len(win.out), w.shape[0]
    w_zp = channel_param(w_zero_point, w.ndim - 1, m, "w_zero_point")
    x_zp = channel_param(x_zero_point, 0, 1, "x_zero_point")
    acc = int_conv(shifted(x, x_zp), shifted(w, w_zp), win, group)
    if b is not None:
        acc = acc + channel_param(b.astype(np.int32), rank, m, "B")
    f32 = np.float32
    w_s = channel_param(w_scale, rank, m, "w_scale").astype(f32)
    multiplier = x_scale.astype(f32) * w_s / y_scale.astype(f32)
    dtype = x.dtype if y_zero_point is None else y_zero_point.dtype
    return requantize(acc, multiplier, y_zero_point, dtype)
