import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp

LEFT_SHIFT = 7  # inputs are scaled up by 2**7 before rescaling


def smaller_than_one(real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: LiteRT aborts unless 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise OpArgumentError(f"TFLite needs a multiplier in (0, 1) for {what}, got {real}")
    mult, shift = fp.quantize_multiplier(real)
    return int(mult), int(shift)


@reference_op("SquaredDifference", since=1, domain="tflite", dtypes={"int8"})
def tfl_squared_difference_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """y = clamp(MBQM(d * d, My) + y_zp), d = MBQM((a - a_zp) << 7, Ma) - MBQM((b - b_zp) << 7,
    Mb), Ma = a_s / 2max, Mb = b_s / 2max, My = (2max)**2 / (2**14 y_s), max = max(a_s, b_s);
    broadcasting like numpy"""
    sa, sb = fp.scalar_param(a_scale, "a_scale"), fp.scalar_param(b_scale, "b_scale")
    sy = fp.scalar_param(y_scale, "y_scale")
    twice_max = np.float64(np.float32(2) * max(sa, sb))
    ma, ea = smaller_than_one(float(np.float64(sa) / twice_max), "a_scale / (2 max scale)")
    mb, eb = smaller_than_one(float(np.float64(sb) / twice_max), "b_scale / (2 max scale)")
    real_y = twice_max * twice_max / np.float64(np.float32(1 << (2 * LEFT_SHIFT)) * sy)
    my, ey = smaller_than_one(float(real_y), "the output multiplier")
    ia = (a.astype(np.int64) - fp.zero_point(a_zero_point, "a_zero_point")) << LEFT_SHIFT
    ib = (b.astype(np.int64) - fp.zero_point(b_zero_point, "b_zero_point")) << LEFT_SHIFT
    diff = fp.multiply_by_quantized_multiplier(ia, ma, ea) - (
        fp.multiply_by_quantized_multiplier(ib, mb, eb)
    )
    y = fp.multiply_by_quantized_multiplier(fp.wrap_int32(diff * diff), my, ey)
    y_zp = fp.zero_point(y_zero_point, "y_zero_point")
    return fp.saturate_cast(y + y_zp, -128, 127, "int8")
