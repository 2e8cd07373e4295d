import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("Quantize", since=1, domain="tflite", dtypes={"float32"})
def tfl_quantize_1(
    x: np.ndarray, y_scale: np.ndarray, y_zero_point: np.ndarray, *, to: str = "int8"
) -> np.ndarray:
    """y = clamp(int32(round(float32(x) / y_s)) + y_zp), rounding half away from zero
    (AffineQuantize); a NaN or a quotient outside int32 converts to INT32_MIN (C++ leaves that
    undefined; x86's cvttss2si, which LiteRT's kernels compile to, gives INT32_MIN), so it becomes
    the type's minimum"""
    if to not in ("int8", "uint8", "int16"):
        raise OpArgumentError(f"tflite::Quantize targets int8, uint8 or int16, not {to!r}")
    s = fp.scalar_param(y_scale, "y_scale")
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = fp.round_half_away(x.astype(np.float32) / s).astype(np.float64)
    fits = (rounded >= fp.INT32_MIN) & (rounded < 2.0**31)  # False for NaN
    as_int32 = np.where(fits, np.nan_to_num(rounded), fp.INT32_MIN).astype(np.int64)
    low, high = fp.int_limits(to)
    y = fp.wrap_int32(as_int32 + fp.zero_point(y_zero_point, "y_zero_point"))
    return fp.saturate_cast(y, low, high, to)
