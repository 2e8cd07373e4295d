import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("Requantize", since=1, domain="tflite", dtypes={"int8", "uint8", "int16"})
def tfl_requantize_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    to: str = "int8",
) -> np.ndarray:
    """y = clamp(MBQM(x - x_zp, M, S) + y_zp), M, S = QuantizeMultiplier(double(x_s) / y_s)
    (TFLite's QUANTIZE of an integer tensor; int8 <-> uint8 with equal scales and zero points
    128 apart is the same values with the top bit flipped)"""
    if to not in ("int8", "uint8", "int16"):
        raise OpArgumentError(f"tflite::Requantize targets int8, uint8 or int16, not {to!r}")
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    mult, shift = fp.quantize_multiplier(np.float64(xs) / np.float64(ys))
    shifted = x.astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point")
    y = fp.multiply_by_quantized_multiplier(shifted, mult, shift)
    low, high = fp.int_limits(to)
    return fp.saturate_cast(y + fp.zero_point(y_zero_point, "y_zero_point"), low, high, to)
