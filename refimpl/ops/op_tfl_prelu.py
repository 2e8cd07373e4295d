import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("PRelu", since=1, domain="tflite", dtypes={"int8", "uint8"})
def tfl_prelu_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    alpha: np.ndarray,
    alpha_scale: np.ndarray,
    alpha_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """y = clamp(y_zp + MBQM(x - x_zp, M1) if x >= x_zp else y_zp + MBQM((x - x_zp) * (alpha -
    a_zp), M2)), M1 from float32(x_s / y_s), M2 from float32(x_s * a_s / y_s); alpha broadcasts"""
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    a_s = fp.scalar_param(alpha_scale, "alpha_scale")
    m1, s1 = fp.quantize_multiplier(np.float64(xs / ys))
    m2, s2 = fp.quantize_multiplier(np.float64(xs * a_s / ys))
    v = x.astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point")
    a = alpha.astype(np.int64) - fp.zero_point(alpha_zero_point, "alpha_zero_point")
    v, a = np.broadcast_arrays(v, a)
    y = np.where(
        v >= 0,
        fp.multiply_by_quantized_multiplier(v, m1, s1),
        fp.multiply_by_quantized_multiplier(fp.wrap_int32(v * a), m2, s2),
    )
    low, high = fp.int_limits(x.dtype)
    return fp.saturate_cast(y + fp.zero_point(y_zero_point, "y_zero_point"), low, high, x.dtype)
