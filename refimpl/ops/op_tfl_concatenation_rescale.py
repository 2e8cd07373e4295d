import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("ConcatenationRescale", since=1, domain="tflite", dtypes={"uint8"})
def tfl_concatenation_rescale_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """One input of a uint8 CONCATENATION brought to the output's params, in float32 as
    ConcatenationWithScaling does: s = x_s * (1 / y_s), y = clamp(round(x * s + (-x_zp * s)) +
    y_zp, 0, 255) (round: half away from zero); equal params copy x"""
    xs, ys = fp.scalar_param(x_scale, "x_scale"), fp.scalar_param(y_scale, "y_scale")
    x_zp, y_zp = fp.zero_point(x_zero_point, "x_zero_point"), fp.zero_point(y_zero_point, "y_zp")
    if xs == ys and x_zp == y_zp:
        return x.copy()
    scale = xs * (np.float32(1) / ys)
    bias = np.float32(-x_zp) * scale
    rounded = fp.round_half_away(x.astype(np.float32) * scale + bias).astype(np.int64)
    return fp.saturate_cast(rounded + y_zp, 0, 255, "uint8")
