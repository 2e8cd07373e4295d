import numpy as np

from ..registry import reference_op
from ._quant import channel_param, int_conv, shifted
from ._window import window


@reference_op("ConvInteger", since=10, dtypes={"int8", "uint8"})
def conv_integer_10(
    x: np.ndarray,
    w: np.ndarray,
    x_zero_point: np.ndarray | None = None,
    w_zero_point: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y = conv(x - x_zero_point, w - w_zero_point) in int32 (padding is x_zero_point, i.e. 0)"""
    win = window(
        x.shape[2:],
        kernel_shape or w.shape[2:],
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
    )
    w_zp = channel_param(w_zero_point, w.ndim - 1, w.shape[0], "w_zero_point")
    x_zp = channel_param(x_zero_point, 0, 1, "x_zero_point")
    return int_conv(shifted(x, x_zp), shifted(w, w_zp), win, group)
