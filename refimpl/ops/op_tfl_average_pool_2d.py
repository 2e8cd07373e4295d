import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from ._tflite_window import in_bounds_count, windows
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("AveragePool2D", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_average_pool_2d_1(
    x: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    kernel_shape: list[int],
    strides: list[int] | None = None,
    padding: str = "VALID",
    activation: str = "NONE",
) -> np.ndarray:
    """y = clamp((s + n/2) / n if s > 0 else (s - n/2) / n) with s the sum of the window's raw
    in-image values, n their count and / C's truncating division (i.e. rounding half away from
    zero); x and y share their quantisation, (y_scale, y_zero_point) only set the clamp"""
    kernel = (int(kernel_shape[0]), int(kernel_shape[1]))
    taps = windows(x, kernel, strides or [1, 1], [1, 1], padding, 0)
    total = taps.astype(np.int64).sum(axis=(3, 4))
    n = in_bounds_count(x.shape, kernel, strides or [1, 1], padding)
    half = n // 2
    num = np.where(total > 0, total + half, total - half)
    avg = np.sign(num) * (np.abs(num) // n)  # C division truncates toward zero
    low, high = fp.activation_range(activation, y_scale, y_zero_point, x.dtype)
    return fp.saturate_cast(avg, low, high, x.dtype)
