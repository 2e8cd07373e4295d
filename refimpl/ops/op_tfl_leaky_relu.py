import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_conv_2d import TFLITE_INTS


@reference_op("LeakyRelu", since=1, domain="tflite", dtypes=TFLITE_INTS)
def tfl_leaky_relu_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    alpha: float = 0.2,
) -> np.ndarray:
    """y = clamp(y_zp + MBQM(x - x_zp, Mi, Si) if x >= x_zp else y_zp +- MBQM(x - x_zp, |Ma|, Sa))
    with Mi, Si from float32(x_s / y_s) and Ma, Sa from float32(x_s * alpha / y_s)"""
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    mi, si = fp.quantize_multiplier(np.float64(xs / ys))
    scaled_alpha = np.float64(xs * np.float32(alpha) / ys)
    ma, sa = fp.quantize_multiplier(abs(scaled_alpha))  # symmetric in the sign of alpha
    v = x.astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point")
    negative = fp.multiply_by_quantized_multiplier(v, ma, sa)
    y = np.where(
        v >= 0,
        fp.multiply_by_quantized_multiplier(v, mi, si),
        -negative if scaled_alpha < 0 else negative,
    )
    low, high = fp.int_limits(x.dtype)
    return fp.saturate_cast(y + fp.zero_point(y_zero_point, "y_zero_point"), low, high, x.dtype)
