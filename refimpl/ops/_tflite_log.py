"""TFLite's fixed-point logarithm (kernels/internal/common.h,
`log_x_for_x_greater_than_or_equal_to_1`), as its reference int8 / uint8 LOG_SOFTMAX uses it.

Numbers are gemmlowp FixedPoint<int32, I> raws (see _tflite_gemmlowp.py): int64 arrays holding
int32 values, `mul` the saturating rounding doubling high product (integer bits add up).
"""

from __future__ import annotations

import numpy as np

from . import _tflite_gemmlowp as gl
from ._tflite_fixed_point import INT32_MAX, INT32_MIN, ArrayLike, wrap_int32

# Q0.31 constants of the rational approximation (GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT raws)
LOG_2, SQRT_SQRT_HALF, SQRT_HALF, ONE_QUARTER = 1488522236, 1805811301, 1518500250, 536870912
ALPHA_N, ALPHA_D, ALPHA_I, ALPHA_F = 117049297, 127690142, 1057819769, 638450708


def count_leading_zeros(x: ArrayLike) -> np.ndarray:
    """CountLeadingZeros of x as uint32 (32 for 0)."""
    u = np.asarray(x, np.int64) & 0xFFFFFFFF
    bits = np.zeros(u.shape, np.int64)
    for shift in (16, 8, 4, 2, 1):
        big = u >= (np.int64(1) << shift)
        bits = bits + np.where(big, shift, 0)
        u = np.where(big, u >> shift, u)
    return np.where(u > 0, 31 - bits, 32)


def saturating_shift_left(x: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOTParam for exponents >= 0 (element-wise): x << exponent,
    saturated to the int32 range once |x| exceeds 2**(31 - exponent) - 1."""
    x, exponent = np.asarray(x, np.int64), np.asarray(exponent, np.int64)
    threshold = (np.int64(1) << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def _saturating(v: np.ndarray) -> np.ndarray:
    return np.clip(v, INT32_MIN, INT32_MAX)


def rounding_half_sum(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """gemmlowp RoundingHalfSum: (a + b + sign) / 2, C's truncating division."""
    total = np.asarray(a, np.int64) + np.asarray(b, np.int64)
    nudged = total + np.where(total >= 0, 1, -1)
    return np.where(nudged >= 0, nudged // 2, -((-nudged) // 2))


def log_x_for_x_ge_1(x: ArrayLike, input_bits: int, output_bits: int) -> np.ndarray:
    """log(x) as an I=output_bits number for an I=input_bits x >= 1: the exponent from the count
    of leading zeros (two candidates, a quarter apart, around sqrt(1/2)) plus a rational
    approximation of the mantissa's log, accumulated with one extra integer bit."""
    accum_bits = output_bits + 1
    shifted_quarter = gl.rescale(ONE_QUARTER, 0, accum_bits)
    z_a = np.asarray(x, np.int64)
    z_a_headroom_plus_1 = count_leading_zeros(z_a)
    r_a_tmp = saturating_shift_left(z_a, z_a_headroom_plus_1 - 1)
    r_a_raw = saturating_shift_left(gl.mul(r_a_tmp, SQRT_HALF), 1)
    z_a_pow_2_adj = _saturating(
        saturating_shift_left(input_bits - z_a_headroom_plus_1, 31 - accum_bits) + shifted_quarter
    )
    z_b = gl.mul(z_a, SQRT_HALF)
    z_b_headroom = count_leading_zeros(z_b) - 1
    r_b_raw = saturating_shift_left(z_a, z_b_headroom)
    z_b_pow_2_adj = _saturating(
        saturating_shift_left(input_bits - z_b_headroom, 31 - accum_bits) - shifted_quarter
    )
    r = np.minimum(r_a_raw, r_b_raw)
    z_pow_2_adj = np.maximum(z_a_pow_2_adj, z_b_pow_2_adj)

    p = rounding_half_sum(r, SQRT_SQRT_HALF)
    q = wrap_int32(r - SQRT_SQRT_HALF)
    q = wrap_int32(q + q)
    common_sq = gl.mul(q, q)
    num = gl.add(gl.mul(q, r), gl.mul(gl.mul(q, common_sq), ALPHA_N))
    inner = gl.add(gl.add(ALPHA_I, q), gl.mul(ALPHA_D, common_sq))
    denom_minus_one = gl.add(gl.mul(p, inner), gl.mul(ALPHA_F, q))
    recip_denom = gl.one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = gl.rescale(num, 0, accum_bits)
    total = gl.add(gl.mul(z_pow_2_adj, LOG_2), gl.mul(num_scaled, recip_denom))
    return gl.rescale(total, accum_bits, output_bits)
