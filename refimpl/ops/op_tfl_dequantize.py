import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("Dequantize", since=1, domain="tflite", dtypes={"int8", "uint8", "int16"})
def tfl_dequantize_1(x: np.ndarray, x_scale: np.ndarray, x_zero_point: np.ndarray) -> np.ndarray:
    """y = float32(double(x_s) * (x - x_zp)) (the product in double, rounded once)"""
    xs = fp.scalar_param(x_scale, "x_scale")
    shifted = x.astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point")
    return np.asarray(np.float64(xs) * shifted.astype(np.float64)).astype(np.float32)
