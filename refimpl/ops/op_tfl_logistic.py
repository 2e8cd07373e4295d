import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp

_EXPF = fp.libm(np.exp)


def sigmoid_f32(v: np.ndarray) -> np.ndarray:
    """1.0f / (1.0f + expf(-v)) in float32."""
    one = np.float32(1)
    return one / (one + _EXPF(-v))


@reference_op("Logistic", since=1, domain="tflite", dtypes={"int8", "uint8"})
def tfl_logistic_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """y = LUT[x], LUT[q] = clamp(round(sigmoid(x_s * (q - x_zp)) / y_s) + y_zp) in float32
    (LiteRT's int8/uint8 LOGISTIC, reference and default kernels alike; TFLite requires y_s =
    1/256 and y_zp = the type's minimum)"""
    table = fp.lut_int8(
        sigmoid_f32,
        fp.scalar_param(x_scale, "x_scale"),
        fp.zero_point(x_zero_point, "x_zero_point"),
        fp.scalar_param(y_scale, "y_scale"),
        fp.zero_point(y_zero_point, "y_zero_point"),
        x.dtype,
    )
    return fp.lookup(x, table)
