"""TFLite's integer arithmetic, exactly as its reference kernels compute it (the `tflite::*` ops).

Sources (tensorflow/lite/kernels/, LiteRT 2.x): internal/common.{h,cc}
(MultiplyByQuantizedMultiplier, default double-rounding build), gemmlowp's fixedpoint.h
(SaturatingRoundingDoublingHighMul, RoundingDivideByPOT), internal/quantization_util.cc
(QuantizeMultiplier), kernel_util.cc
(CalculateActivationRangeQuantized) and internal/common.h (LUTPopulateInt8). Values are int64
numpy arrays holding int32 quantities; where C++ computes in int32 the result is wrapped to int32
(two's complement) as on the devices TFLite runs on. Scales are float32, as the flatbuffer stores
them; where TFLite multiplies them in float32 before widening to double, so do we.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import OpArgumentError

# an array, or a scalar that numpy widens to one
ArrayLike = np.ndarray | int | float | np.number
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# fused activation -> the real-valued clamp it stands for (TANH / SIGN_BIT are not applied)
ACTIVATIONS = {"NONE": None, "RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def wrap_int32(x: ArrayLike) -> np.ndarray:
    """int64 values reduced to int32 with two's-complement wrap (C++ int32 arithmetic)."""
    return ((np.asarray(x, np.int64) + 2**31) & 0xFFFFFFFF) - 2**31


def round_half_away(x: ArrayLike) -> np.ndarray:
    """std::round (TfLiteRound): to nearest, ties away from zero; exact in x's own precision."""
    x = np.asarray(x)
    a = np.abs(x)
    floor = np.floor(a)
    up = (a - floor) >= 0.5  # a - floor(a) is exact in binary floating point
    return np.copysign(floor + up, x)


def quantize_multiplier(real: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """QuantizeMultiplier: real = multiplier * 2**(shift - 31), multiplier in [2**30, 2**31).

    q, shift = frexp(real); multiplier = round(q * 2**31) (ties away); a multiplier of 2**31
    becomes 2**30 with shift + 1; a shift below -31 (real < ~2**-31) flushes to (0, 0); real == 0
    gives (0, 0)."""
    real = np.asarray(real, np.float64)
    if np.any(~np.isfinite(real)) or np.any(real < 0):
        raise OpArgumentError(f"TFLite multipliers must be finite and >= 0, got {real.ravel()}")
    q, shift = np.frexp(real)
    fixed = round_half_away(q * 2.0**31).astype(np.int64)
    top = fixed == 2**31
    fixed = np.where(top, fixed // 2, fixed)
    shift = np.where(top, shift + 1, shift).astype(np.int64)
    tiny = shift < -31
    return np.where(tiny, 0, fixed), np.where(tiny, 0, shift)


def saturating_rounding_doubling_high_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2**31) with the nudge
    (2**30, or 1 - 2**30 for a negative product) and C's truncating division; INT32_MIN *
    INT32_MIN saturates to INT32_MAX."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b  # |a|, |b| <= 2**31: exact in int64
    nudged = ab + np.where(ab >= 0, 2**30, 1 - 2**30)
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))  # truncate toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)


def rounding_divide_by_pot(x: ArrayLike, exponent: np.ndarray | int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent rounded to nearest, ties away from zero."""
    x, exponent = np.asarray(x, np.int64), np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(
    x: ArrayLike, multiplier: ArrayLike, shift: ArrayLike
) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2**(shift - 31), as
    RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2**max(shift, 0), multiplier),
    max(-shift, 0)); the left shift is int32 arithmetic."""
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    shifted = wrap_int32(np.asarray(x, np.int64) * (np.int64(1) << left))
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(shifted, multiplier), np.maximum(-shift, 0)
    )


def int_limits(dtype: np.dtype | str) -> tuple[int, int]:
    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)


def quantize_value(value: float, scale: np.float32, zero_point: int) -> int:
    """kernel_util's Quantize: zero_point + round(float32(value) / scale), ties away."""
    return int(zero_point) + int(round_half_away(np.float32(value) / np.float32(scale)))


def activation_range(
    activation: str, scale: ArrayLike, zero_point: ArrayLike, dtype: np.dtype | str
) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the output type's range, narrowed by a fused RELU /
    RELU6 / RELU_N1_TO_1 to the quantised images of 0, 6, -1, 1 under the output's params."""
    if activation not in ACTIVATIONS:
        raise OpArgumentError(
            f"unknown TFLite fused activation {activation!r}; known: {sorted(ACTIVATIONS)}"
        )
    low, high = int_limits(dtype)
    bounds = ACTIVATIONS[activation]
    if bounds is None:
        return low, high
    s, z = scalar_param(scale, "output scale"), int(np.asarray(zero_point).reshape(-1)[0])
    low = max(low, quantize_value(bounds[0], s, z))
    if bounds[1] is not None:
        high = min(high, quantize_value(bounds[1], s, z))
    return low, high


def scalar_param(scale: ArrayLike, what: str) -> np.float32:
    """A per-tensor scale as float32; it must be finite and positive."""
    s = np.asarray(scale, np.float32).reshape(-1)
    if s.size != 1:
        raise OpArgumentError(f"{what} must be a single value, got {s.size}")
    if not (np.isfinite(s[0]) and s[0] > 0):
        raise OpArgumentError(f"{what} must be finite and > 0, got {s[0]}")
    return s[0]


def scales(scale: ArrayLike, count: int, what: str) -> np.ndarray:
    """Per-channel scales (float32, length `count`), a single scale broadcast to `count`."""
    s = np.asarray(scale, np.float32).reshape(-1)
    if s.size not in (1, count):
        raise OpArgumentError(f"{what} has {s.size} values for {count} channels")
    if not np.all(np.isfinite(s) & (s > 0)):
        raise OpArgumentError(f"{what} must be finite and > 0, got {s}")
    return np.broadcast_to(s, (count,))


def zero_point(zp: ArrayLike | None, what: str) -> int:
    """A per-tensor zero point as a Python int (absent = 0)."""
    if zp is None:
        return 0
    z = np.asarray(zp).reshape(-1)
    if z.size == 0 or np.any(z != z[0]):
        raise OpArgumentError(f"{what} must be one value, got {z}")
    return int(z[0])


def saturate_cast(acc: ArrayLike, low: int, high: int, dtype: np.dtype | str) -> np.ndarray:
    """min(max(acc, low), high) stored as dtype."""
    return np.asarray(np.clip(acc, low, high)).astype(dtype)


def lut_int8(
    transform: Callable[[np.ndarray], np.ndarray],
    x_scale: np.float32,
    x_zero_point: int,
    y_scale: np.float32,
    y_zero_point: int,
    dtype: np.dtype | str,
) -> np.ndarray:
    """LUTPopulateInt8: table[q - min] for every q of the 8-bit dtype = clamp(round(transform(
    x_scale * (q - x_zp)) * (1 / y_scale)) + y_zp), all in float32; `transform` maps float32 to
    float32 as the kernel's float code does (see `libm`)."""
    low, high = int_limits(dtype)
    q = np.arange(low, high + 1, dtype=np.int64)
    dequantized = np.float32(x_scale) * (q - x_zero_point).astype(np.float32)
    transformed = np.asarray(transform(dequantized), np.float32)
    rescaled = round_half_away(transformed * (np.float32(1) / np.float32(y_scale)))
    quantized = (rescaled + np.float32(y_zero_point)).astype(np.int64)
    return np.clip(quantized, low, high).astype(dtype)


def libm(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A float32 libm function (expf, tanhf) as glibc computes it: correctly rounded, i.e. the
    float64 result rounded to float32."""
    return lambda x: fn(np.asarray(x, np.float64)).astype(np.float32)


def lookup(x: ArrayLike, table: ArrayLike) -> np.ndarray:
    """table[x - min(dtype)] for an 8-bit x."""
    x, table = np.asarray(x), np.asarray(table)
    low, _ = int_limits(x.dtype)
    return np.asarray(table[x.astype(np.int64) - low])


def multiply_by_quantized_multiplier_int64(
    x: ArrayLike, multiplier: ArrayLike, shift: ArrayLike
) -> np.ndarray:
    """The int64-accumulator overload (16x8 kernels): the multiplier reduced to 16 bits
    ((m + 2**15) >> 16, at most 0x7FFF), then one rounding shift by 15 - shift."""
    m = np.asarray(multiplier, np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + 2**15) >> 16, 0x7FFF)
    total = 15 - np.asarray(shift, np.int64)
    return wrap_int32((np.asarray(x, np.int64) * reduced + (np.int64(1) << (total - 1))) >> total)


def product_multipliers(
    x_scale: ArrayLike, w_scale: ArrayLike, y_scale: ArrayLike, channels: int, per_channel: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(multiplier, shift) per output channel for x_scale * w_scale / y_scale.

    `per_channel`: PopulateConvolutionQuantizationParams' form, double(x_scale) *
    double(w_scale[c]) / double(y_scale); otherwise GetQuantizedConvolutionMultipler's,
    double(float32(x_scale * w_scale)) / double(y_scale) (uint8 kernels, per-tensor FC)."""
    xs, ys = scalar_param(x_scale, "input scale"), scalar_param(y_scale, "output scale")
    ws = scales(w_scale, channels, "filter scale")
    if per_channel:
        real = np.float64(xs) * ws.astype(np.float64) / np.float64(ys)
    else:
        real = (xs * ws).astype(np.float64) / np.float64(ys)
    return quantize_multiplier(real)


def output_stage(
    acc: ArrayLike,
    multiplier: ArrayLike,
    shift: ArrayLike,
    y_zero_point: int,
    activation: str,
    y_scale: ArrayLike,
    dtype: np.dtype,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """The common epilogue: MultiplyByQuantizedMultiplier(acc) + y_zp, clamped to the activation
    range. The accumulator is int32 (wrapping), except for 16-bit activations with an int64 bias
    (or none): those accumulate in int64 and use the int64-accumulator overload."""
    wide = np.dtype(dtype) == np.int16 and (bias is None or bias.dtype == np.int64)
    if wide:
        scaled = multiply_by_quantized_multiplier_int64(acc, multiplier, shift)
    else:
        scaled = multiply_by_quantized_multiplier(wrap_int32(acc), multiplier, shift)
    low, high = activation_range(activation, y_scale, np.asarray(y_zero_point), dtype)
    return saturate_cast(scaled + y_zero_point, low, high, dtype)


def int_dot(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """a @ b of integer-valued arrays, exactly (float64 BLAS; every partial sum here stays far
    below 2**53), as int64."""
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64)).astype(np.int64)
