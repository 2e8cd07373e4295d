import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("Mul", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_mul_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    activation: str = "NONE",
) -> np.ndarray:
    """y = clamp(MBQM((a - a_zp) * (b - b_zp), M, S) + y_zp), M, S = QuantizeMultiplier of
    float32(a_s * b_s / y_s) (TFLite multiplies the scales in float32)"""
    sa, sb = fp.scalar_param(a_scale, "a_scale"), fp.scalar_param(b_scale, "b_scale")
    sy = fp.scalar_param(y_scale, "y_scale")
    mult, shift = fp.quantize_multiplier(np.float64(sa * sb / sy))
    prod = (a.astype(np.int64) - fp.zero_point(a_zero_point, "a_zero_point")) * (
        b.astype(np.int64) - fp.zero_point(b_zero_point, "b_zero_point")
    )
    y = fp.multiply_by_quantized_multiplier(prod, mult, shift)
    y_zp = fp.zero_point(y_zero_point, "y_zero_point")
    low, high = fp.activation_range(activation, y_scale, np.asarray(y_zp), a.dtype)
    return fp.saturate_cast(y + y_zp, low, high, a.dtype)
