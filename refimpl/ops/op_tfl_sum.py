import numpy as np

from ..registry import reference_op
from .op_tfl_conv_2d import TFLITE_INTS
from .op_tfl_mean import mean_or_sum


@reference_op("Sum", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_sum_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    axes: list[int],
    keepdims: int = 0,
) -> np.ndarray:
    """y = clamp(MBQM(int32(sum(x) - x_zp * n), M, S) + y_zp) over the n elements of `axes`,
    M, S = QuantizeMultiplier(double(x_s) / y_s) (QuantizedMeanOrSum with compute_sum)"""
    args = (x, x_scale, x_zero_point, y_scale, y_zero_point)
    return mean_or_sum(*args, axes, keepdims, compute_sum=True)
