import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("Relu", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_relu_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    low: float = 0.0,
    high: float = float("inf"),
) -> np.ndarray:
    """y = clamp(MBQM(x - x_zp, M, S) + y_zp, y_zp + roundf(low / y_s), y_zp + roundf(high /
    y_s)), M, S = QuantizeMultiplier(float32(x_s / y_s)): RELU (0, inf), RELU6 (0, 6),
    RELU_N1_TO_1 (-1, 1), RELU_0_TO_1 (0, 1)"""
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    mult, shift = fp.quantize_multiplier(np.float64(xs / ys))
    x_zp, y_zp = fp.zero_point(x_zero_point, "x_zero_point"), fp.zero_point(y_zero_point, "y_zp")
    t_low, t_high = fp.int_limits(x.dtype)
    q_low = max(t_low, y_zp + int(fp.round_half_away(np.float32(low) / ys)))
    q_high = t_high
    if high != float("inf"):
        q_high = min(t_high, y_zp + int(fp.round_half_away(np.float32(high) / ys)))
    y = fp.multiply_by_quantized_multiplier(x.astype(np.int64) - x_zp, mult, shift) + y_zp
    return fp.saturate_cast(y, q_low, q_high, x.dtype)
