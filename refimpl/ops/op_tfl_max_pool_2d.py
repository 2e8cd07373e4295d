import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from ._tflite_window import windows
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("MaxPool2D", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_max_pool_2d_1(
    x: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    kernel_shape: list[int],
    strides: list[int] | None = None,
    padding: str = "VALID",
    activation: str = "NONE",
) -> np.ndarray:
    """y = clamp(max of the window's in-image values); x and y share their quantisation,
    (y_scale, y_zero_point) only set the clamp"""
    low_of_type, _ = fp.int_limits(x.dtype)  # padding taps can never win the max
    kernel = (int(kernel_shape[0]), int(kernel_shape[1]))
    taps = windows(x, kernel, strides or [1, 1], [1, 1], padding, low_of_type)
    low, high = fp.activation_range(activation, y_scale, y_zero_point, x.dtype)
    return fp.saturate_cast(taps.max(axis=(3, 4)), low, high, x.dtype)
