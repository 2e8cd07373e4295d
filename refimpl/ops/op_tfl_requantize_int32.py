import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp

TARGETS = ("int8", "int16", "int32")


@reference_op("RequantizeInt32", since=1, domain="tflite", dtypes={"int16", "int32"})
def tfl_requantize_int32_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    to: str = "int32",
) -> np.ndarray:
    """y = clamp(MBQM(x - x_zp, M, S) + y_zp) in int32 arithmetic (wrapping), M, S =
    QuantizeMultiplier(double(x_s) / y_s): TFLite's QUANTIZE of int16 -> int32 and of int32 ->
    int8 / int16 (reference_ops::Requantize)"""
    if to not in TARGETS:
        raise OpArgumentError(f"tflite::RequantizeInt32 targets {TARGETS}, not {to!r}")
    if x.dtype == np.int32 and to == "int32":
        raise OpArgumentError("TFLite has no int32 -> int32 QUANTIZE")
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    mult, shift = fp.quantize_multiplier(np.float64(xs) / np.float64(ys))
    shifted = fp.wrap_int32(x.astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point"))
    y = fp.wrap_int32(
        fp.multiply_by_quantized_multiplier(shifted, mult, shift)
        + fp.zero_point(y_zero_point, "y_zero_point")
    )
    low, high = fp.int_limits(to)
    return fp.saturate_cast(y, low, high, to)
