"""QLinearAveragePool (com.microsoft), defined with an exact int32 window sum and one float32
requantisation, which is what onnxruntime computes when the window covers the whole image
(its global-pool path). Otherwise onnxruntime sums dequantised float32 values and divides, and
may differ by 1 next to a .5 tie; it also counts the ceil_mode overhang when count_include_pad
is set, which the ONNX AveragePool definition used here does not."""

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._qlinear import requantize_sum, scalar, zero_point_of
from ._qlinear_pool import from_channels_first, to_channels_first, window_counts, window_sums
from ._window import window


@reference_op("QLinearAveragePool", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_average_pool_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    kernel_shape: list[int],
    auto_pad: str = "NOTSET",
    ceil_mode: int = 0,
    channels_last: int = 0,
    count_include_pad: int = 0,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y = saturate(rint(float32(S) * float32(x_s / (y_s * n))) + y_zp), S = int32 sum of
    (x - x_zp) over the window's taps inside x, n = their count (or the taps inside x+pads)"""
    if x.ndim < 3:
        raise OpArgumentError(f"QLinearAveragePool needs N, C and spatial axes, got {x.shape}")
    xc = to_channels_first(x, channels_last)
    zx = zero_point_of(x_zero_point, x, "x_zero_point")
    zy = zero_point_of(y_zero_point, x, "y_zero_point")
    win = window(
        xc.shape[2:], kernel_shape, strides=strides, pads=pads, auto_pad=auto_pad,
        ceil_mode=ceil_mode,
    )  # fmt: skip
    sums = window_sums(xc, zx, win)
    count = window_counts(xc.shape, win, count_include_pad)
    sx, sy = scalar(x_scale, "x_scale"), scalar(y_scale, "y_scale")
    return from_channels_first(requantize_sum(sums, count, sx, sy, zy, x.dtype), channels_last)
