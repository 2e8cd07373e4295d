import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp
from .op_tfl_conv_2d import TFLITE_INTS

LEFT_SHIFT = 20  # 8-bit ADD/SUB: inputs are scaled up by 2**20 before rescaling


def add_sub(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point,
            activation: str, sign: int, left_shift: int = LEFT_SHIFT) -> np.ndarray:  # fmt: skip
    """The 8-bit ADD (sign 1) / SUB (sign -1) kernel, broadcasting like numpy (the general int16
    one shifts the inputs by 15 instead of 20)."""
    sa, sb = fp.scalar_param(a_scale, "a_scale"), fp.scalar_param(b_scale, "b_scale")
    sy = fp.scalar_param(y_scale, "y_scale")
    twice_max = 2 * np.float64(max(sa, sb))
    ma, ea = fp.quantize_multiplier(np.float64(sa) / twice_max)
    mb, eb = fp.quantize_multiplier(np.float64(sb) / twice_max)
    my, ey = fp.quantize_multiplier(twice_max / np.float64(np.float32(2**left_shift) * sy))
    ia = (a.astype(np.int64) - fp.zero_point(a_zero_point, "a_zero_point")) << left_shift
    ib = (b.astype(np.int64) - fp.zero_point(b_zero_point, "b_zero_point")) << left_shift
    raw = fp.multiply_by_quantized_multiplier(ia, ma, ea) + sign * (
        fp.multiply_by_quantized_multiplier(ib, mb, eb)
    )
    y = fp.multiply_by_quantized_multiplier(fp.wrap_int32(raw), my, ey)
    y_zp = fp.zero_point(y_zero_point, "y_zero_point")
    low, high = fp.activation_range(activation, y_scale, np.asarray(y_zp), a.dtype)
    return fp.saturate_cast(y + y_zp, low, high, a.dtype)


@reference_op("Add", since=1, domain="tflite", dtypes=TFLITE_INTS - {"int16"})
def tfl_add_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    activation: str = "NONE",
) -> np.ndarray:
    """y = clamp(MBQM(MBQM((a - a_zp) << 20, Ma) + MBQM((b - b_zp) << 20, Mb), My) + y_zp) with
    Ma = a_s / 2max(a_s, b_s), Mb = b_s / 2max(a_s, b_s), My = 2max(a_s, b_s) / (2**20 y_s)"""
    args = (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)
    return add_sub(*args, activation, 1)
