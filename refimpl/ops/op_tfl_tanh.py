import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("Tanh", since=1, domain="tflite", dtypes={"int8", "uint8"})
def tfl_tanh_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """y = LUT[x], LUT[q] = clamp(round(tanhf(x_s * (q - x_zp)) / y_s) + y_zp) in float32
    (LiteRT's int8/uint8 TANH, reference and default kernels alike)"""
    table = fp.lut_int8(
        fp.libm(np.tanh),
        fp.scalar_param(x_scale, "x_scale"),
        fp.zero_point(x_zero_point, "x_zero_point"),
        fp.scalar_param(y_scale, "y_scale"),
        fp.zero_point(y_zero_point, "y_zero_point"),
        x.dtype,
    )
    return fp.lookup(x, table)
