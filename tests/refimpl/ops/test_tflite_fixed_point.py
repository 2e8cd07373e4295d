"""TFLite's fixed-point helpers (refimpl/ops/_tflite_fixed_point.py) against a scalar transcription
of gemmlowp / TFLite's C++ (Python ints, C's truncating division), and their known corner cases."""

import math

import numpy as np
from gossamer.refimpl.ops import _tflite_fixed_point as fp
from hypothesis import given
from hypothesis import strategies as st

I32 = st.integers(-(2**31), 2**31 - 1)


def _c_div(a: int, b: int) -> int:  # C's integer division truncates toward zero
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def srdhm(a: int, b: int) -> int:
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _c_div(ab + nudge, 1 << 31)


def rdbpot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def wrap(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def mbqm(x: int, m: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap(x * (1 << left)), m), right)


def quantize_multiplier(real: float) -> tuple[int, int]:
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    fixed = int(math.floor(q * 2**31 + 0.5))  # std::round of a positive value
    if fixed == 2**31:
        fixed //= 2
        shift += 1
    return (0, 0) if shift < -31 else (fixed, shift)


@given(I32, I32)
def test_saturating_rounding_doubling_high_mul_matches_gemmlowp(a, b):
    assert fp.saturating_rounding_doubling_high_mul(np.int64(a), np.int64(b)) == srdhm(a, b)


@given(I32, st.integers(0, 31))
def test_rounding_divide_by_pot_matches_gemmlowp(x, exponent):
    assert fp.rounding_divide_by_pot(np.int64(x), exponent) == rdbpot(x, exponent)


@given(st.floats(1e-12, 200.0))
def test_quantize_multiplier_matches_tflite(real):
    m, s = fp.quantize_multiplier(real)
    assert (int(m), int(s)) == quantize_multiplier(real)
    if m:
        assert 2**30 <= m < 2**31 and abs(m * 2.0 ** (s - 31) - real) <= real * 2**-30


@given(st.integers(-(2**24), 2**24), st.floats(1e-6, 100.0))
def test_multiply_by_quantized_multiplier_matches_tflite_and_the_real_product(x, real):
    m, s = quantize_multiplier(real)
    got = int(fp.multiply_by_quantized_multiplier(np.int64(x), m, s))
    assert got == mbqm(x, m, s)
    if abs(x * real) < 2**30:
        assert abs(got - x * real) <= 1 + abs(x) * real * 2**-29


def test_corner_cases():
    assert fp.saturating_rounding_doubling_high_mul(np.int64(-(2**31)), -(2**31)) == 2**31 - 1
    assert [int(fp.rounding_divide_by_pot(np.int64(v), 1)) for v in (-5, -3, 3, 5)] == [
        -3,
        -2,
        2,
        3,
    ]
    assert [tuple(map(int, fp.quantize_multiplier(r))) for r in (0.5, 1.0, 0.0, 1e-12)] == [
        (2**30, 0), (2**30, 1), (0, 0), (0, 0)
    ]  # fmt: skip
    # a mantissa that rounds up to 2**31 becomes 2**30 with the exponent raised
    assert tuple(map(int, fp.quantize_multiplier(1 - 2**-40))) == (2**30, 1)


def test_round_half_away_rounds_ties_away_and_keeps_near_half_values():
    x = np.array([0.5, -0.5, 1.5, -2.5, 0.49999997, -0.49999997], np.float32)
    assert fp.round_half_away(x).tolist() == [1.0, -1.0, 2.0, -3.0, 0.0, -0.0]


def test_activation_range_quantises_the_clamp_bounds_with_the_output_params():
    assert fp.activation_range("NONE", np.float32(0.1), np.int32(5), "int8") == (-128, 127)
    assert fp.activation_range("RELU", np.float32(0.1), np.int32(5), "int8") == (5, 127)
    assert fp.activation_range("RELU6", np.float32(0.1), np.int32(-128), "int8") == (-128, -68)
    assert fp.activation_range("RELU_N1_TO_1", np.float32(0.5), np.int32(0), "uint8") == (0, 2)


def test_int64_overload_reduces_the_multiplier_to_16_bits():
    m, s = quantize_multiplier(0.3)
    x = 123456789
    reduced = (m + (1 << 15)) >> 16
    expected = (x * reduced + (1 << (15 - s - 1))) >> (15 - s)
    assert int(fp.multiply_by_quantized_multiplier_int64(np.int64(x), m, s)) == expected
