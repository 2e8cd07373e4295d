import numpy as np

from ..registry import reference_op
from . import _tflite_fixed_point as fp

I16_MIN, I16_MAX = -(2**15), 2**15 - 1


def _srdhm16(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's int16 SaturatingRoundingDoublingHighMul."""
    ab = a * b
    nudged = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = np.where(nudged >= 0, nudged >> 15, -((-nudged) >> 15))
    return np.where((a == I16_MIN) & (b == I16_MIN), I16_MAX, high)


def _left_shift16(a: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(a * (1 << amount), I16_MIN, I16_MAX)


def _int16_multiplier(real: np.float32) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (rounded to the top 16 bits)."""
    m, shift = (int(v) for v in fp.quantize_multiplier(np.float64(real)))
    return (I16_MAX if m >= fp.INT32_MAX - (1 << 15) else (m + (1 << 15)) >> 16), shift


@reference_op("HardSwish", since=1, domain="tflite", dtypes={"int8", "uint8"})
def tfl_hard_swish_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """y = x * relu6(x + 3) / 6 in TFLite's int16 fixed point: x - x_zp at scale x_s / 128, a
    "reluish" factor at scale 3 / 32768 mapped to [0, 1), their doubling high product, rescaled
    to y_s (multipliers from float32 scale ratios, reduced to 16 bits)"""
    hires_scale = np.float32(1 / 128) * fp.scalar_param(x_scale, "x_scale")
    out_mult, out_exp = _int16_multiplier(hires_scale / fp.scalar_param(y_scale, "y_scale"))
    relu_mult, relu_exp = _int16_multiplier(hires_scale / np.float32(3 / 32768))
    hires = (x.astype(np.int64) - fp.zero_point(x_zero_point, "x_zero_point")) * 128
    preshift_out = _srdhm16(hires, out_mult)
    reluish = _left_shift16(hires, relu_exp - 1) if relu_exp > 0 else hires
    reluish = _srdhm16(reluish, relu_mult)
    if relu_exp > 0:
        reluish = _left_shift16(reluish, 1)
    elif relu_exp < 0:
        reluish = fp.rounding_divide_by_pot(reluish, -relu_exp)
    reluish = (reluish + (1 << 15)) >> 1
    product = reluish * preshift_out
    preshift = np.where(product >= 0, product >> 15, -((-product) >> 15))  # truncating
    y = fp.rounding_divide_by_pot(preshift, -out_exp) + fp.zero_point(y_zero_point, "y_zp")
    low, high = fp.int_limits(x.dtype)
    return fp.saturate_cast(y, low, high, x.dtype)
