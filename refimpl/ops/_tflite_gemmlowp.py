"""gemmlowp's fixed-point transcendental functions (fixedpoint/fixedpoint.h), as TFLite's reference
int8 SOFTMAX uses them: `exp_on_negative_values` and `one_over_one_plus_x_for_x_in_0_1`.

A FixedPoint<int32, I> number is its raw int32 r, meaning r / 2**(31 - I). Here raws are int64
arrays holding int32 values; `mul` is SaturatingRoundingDoublingHighMul (the product of an I1 and
an I2 number is an I1 + I2 number), sums wrap like int32, and `rescale` is
SaturatingRoundingMultiplyByPOT by the change in integer bits.
"""

from __future__ import annotations

import numpy as np

from ._tflite_fixed_point import (
    INT32_MAX,
    INT32_MIN,
    ArrayLike,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

mul = saturating_rounding_doubling_high_mul


def add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    return wrap_int32(np.asarray(a, np.int64) + np.asarray(b, np.int64))


def saturating_rounding_multiply_by_pot(x: ArrayLike, exponent: int) -> np.ndarray:
    """x * 2**exponent: a saturating left shift, or a rounding right shift."""
    x = np.asarray(x, np.int64)
    if exponent <= 0:
        return rounding_divide_by_pot(x, -exponent) if exponent else x
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def rescale(x: ArrayLike, bits_from: int, bits_to: int) -> np.ndarray:
    """An I=bits_from number as an I=bits_to number (gemmlowp::Rescale)."""
    return saturating_rounding_multiply_by_pot(x, bits_from - bits_to)


def _const_pot(exponent: int, integer_bits: int) -> int:
    return 1 << (31 - integer_bits + exponent)


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: ArrayLike) -> np.ndarray:
    """exp(a) for I=0 a in [-1/4, 0): Taylor expansion around -1/8."""
    constant_term, one_third = 1895147668, 715827883  # exp(-1/8), 1/3
    x = add(a, _const_pot(-3, 0))
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(add(mul(add(x4_over_4, x3), one_third), x2), -1)
    return add(constant_term, mul(constant_term, add(x, poly)))


# (exponent, raw multiplier = exp(-2**exponent) as an I=0 number) of the barrel shifter
_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
           (3, 720401), (4, 242))  # fmt: skip


def exp_on_negative_values(a: ArrayLike, integer_bits: int) -> np.ndarray:
    """exp(a) as an I=0 number for an I=integer_bits a <= 0."""
    a = np.asarray(a, np.int64)
    fractional_bits = 31 - integer_bits
    quarter = _const_pot(-2, integer_bits)
    a_mod_quarter_minus_quarter = wrap_int32((a & (quarter - 1)) - quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_quarter, integer_bits, 0)
    )
    remainder = wrap_int32(a_mod_quarter_minus_quarter - a)
    for exponent, multiplier in _BARREL:
        if integer_bits > exponent:
            bit = (remainder & (1 << (fractional_bits + exponent))) != 0
            result = np.where(bit, mul(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)  # One() of an I=0 number is the largest raw


def one_over_one_plus_x_for_x_in_0_1(a: ArrayLike) -> np.ndarray:
    """1 / (1 + a) as an I=0 number for an I=0 a in [0, 1): three Newton-Raphson steps."""
    a = np.asarray(a, np.int64)
    total = a + INT32_MAX
    half_denominator = (total + np.where(total >= 0, 1, -1)) // 2  # RoundingHalfSum; total > 0
    x = add(1515870810, mul(half_denominator, -1010580540))  # I=2: 48/17 - 32/17 * d
    one_i2 = _const_pot(0, 2)
    for _ in range(3):
        one_minus = wrap_int32(one_i2 - mul(half_denominator, x))
        x = add(x, rescale(mul(x, one_minus), 4, 2))
    return rescale(x, 1, 0)  # ExactMulByPot<-1>: the same raw read as an I=1 number
