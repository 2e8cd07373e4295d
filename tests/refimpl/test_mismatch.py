"""The one definition of "mismatch" (refimpl/mismatch.py): |a - b| > max(atol, rtol * median|b|)
+ rtol * |b| for floats, NaN/inf agreement, exact integers (or within a unit allowance)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from gossamer.refimpl.mismatch import effective_atol, magnitude, mismatches
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

F32_EPS = float(np.finfo(np.float32).eps)


def large_tensor_with_a_value_near_zero() -> np.ndarray:
    rng = np.random.default_rng(0)
    b = (rng.standard_normal(4096) * 1e4).astype(np.float32)
    b[7] = np.float32(0.25)
    return b


def test_an_ulp_of_the_tensor_scale_near_zero_is_not_a_mismatch():
    b = large_tensor_with_a_value_near_zero()
    a = b.copy()
    a[7] += np.float32(8 * F32_EPS * np.abs(b).max())  # a few ulps of the large values
    found = mismatches(a, b, rtol=1e-5, atol=1e-6)
    assert found.count == 0
    assert found.atol_eff == pytest.approx(1e-5 * magnitude(b))


def test_the_same_error_in_a_tensor_of_small_values_is_a_mismatch():
    b = large_tensor_with_a_value_near_zero() / np.float32(1e4)
    a = b.copy()
    a[7] += np.float32(8 * F32_EPS * 4e4)  # the error above, now huge for this tensor's scale
    assert mismatches(a, b, rtol=1e-5, atol=1e-6).count == 1


def test_a_real_error_near_zero_in_a_large_tensor_is_still_a_mismatch():
    b = large_tensor_with_a_value_near_zero()
    a = b.copy()
    a[7] += np.float32(1e-2 * magnitude(b))  # 1 % of the typical magnitude: a wrong element
    found = mismatches(a, b, rtol=1e-3, atol=1e-4)
    assert found.count == 1 and found.outside[7]
    assert found.worst > 1


def test_huge_outliers_do_not_loosen_the_ordinary_elements():
    b = np.ones(100, np.float32)
    b[:20] = np.finfo(np.float32).max  # a fifth of the elements, as in the extremes examples
    a = b.copy()
    a[50] = 1.01
    assert magnitude(b) == 1.0
    assert mismatches(a, b, rtol=1e-5, atol=1e-6).outside[50]


def test_exact_zeros_do_not_shrink_the_scale():
    b = np.zeros(100, np.float32)
    b[::4] = 1e3  # a sparse ReLU-like output: three quarters zeros
    assert magnitude(b) == 1e3
    assert effective_atol(b, rtol=1e-3, atol=1e-4) == pytest.approx(1.0)


def test_an_all_zero_tensor_falls_back_to_atol():
    b = np.zeros(8, np.float32)
    assert effective_atol(b, rtol=1e-3, atol=1e-4) == 1e-4


def test_rtol_zero_stays_exact_whatever_the_magnitude():
    b = large_tensor_with_a_value_near_zero()
    a = b.copy()
    a[7] = np.nextafter(b[7], np.float32(1))
    found = mismatches(a, b, rtol=0.0, atol=0.0)
    assert found.count == 1 and found.worst == float("inf")
    assert mismatches(b.copy(), b, rtol=0.0, atol=0.0).worst == 0.0


def test_nan_matches_only_nan_and_infinity_only_the_same_infinity():
    b = np.array([np.nan, np.inf, -np.inf, 1.0, 2.0], np.float32)
    same = mismatches(b.copy(), b, rtol=1e-3, atol=1e-4)
    assert same.count == 0
    a = np.array([1.0, -np.inf, -np.inf, np.nan, np.inf], np.float32)
    found = mismatches(a, b, rtol=1e-3, atol=1e-4)
    assert found.nonfinite.tolist() == [True, True, False, True, True]
    assert not found.outside.any() and found.count == 4


def test_integers_are_exact_without_an_allowance_and_within_it_with_one():
    b = np.array([0, 5, -7], np.int8)
    a = np.array([0, 6, -9], np.int8)
    assert mismatches(a, b, rtol=1.0, atol=1.0).outside.tolist() == [False, True, True]
    assert mismatches(a, b, rtol=0.0, atol=0.0, int_units=1).outside.tolist() == [
        False,
        False,
        True,
    ]


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.uint64])
def test_integer_distance_does_not_overflow_at_the_extremes(dtype):
    info = np.iinfo(dtype)
    b = np.array([info.min, info.max], dtype)
    a = np.array([info.max, info.min], dtype)
    assert mismatches(a, b, rtol=0.0, atol=0.0, int_units=1).outside.all()


def test_bool_and_strings_are_exact():
    assert mismatches(np.array([True, False]), np.array([True, True]), rtol=1, atol=1).count == 1
    a = np.array(["x", "y"], dtype=object)
    assert mismatches(a, np.array(["x", "z"], dtype=object), rtol=1, atol=1).count == 1


def test_bfloat16_is_compared_as_a_float():
    b = np.array([1.0, 2.0, 3.0], ml_dtypes.bfloat16)
    a = np.array([1.0, 2.0, 3.015625], ml_dtypes.bfloat16)  # one bfloat16 ulp at 3
    assert mismatches(a, b, rtol=1e-2, atol=1e-2).count == 0
    assert mismatches(a, b, rtol=0.0, atol=0.0).count == 1


def test_shapes_and_dtypes_must_agree():
    with pytest.raises(ValueError, match="equal shapes and dtypes"):
        mismatches(np.zeros(2, np.float32), np.zeros(3, np.float32), rtol=0, atol=0)


finite_f32 = hnp.arrays(
    np.float32,
    st.integers(1, 64),
    elements=st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False),
)


@given(finite_f32, finite_f32.map(lambda x: x[:1]), st.sampled_from([1e-5, 1e-3, 0.1]))
def test_scaling_both_sides_by_a_power_of_two_changes_nothing_when_atol_is_zero(b, noise, rtol):
    """The definition is scale-free: with atol 0 only magnitudes relative to the tensor count."""
    a = (b + noise[0] * np.float32(1e-4)).astype(np.float32)
    scale = np.float32(2.0**10)
    plain = mismatches(a, b, rtol=rtol, atol=0.0)
    scaled = mismatches(a * scale, b * scale, rtol=rtol, atol=0.0)
    assert np.array_equal(plain.mask, scaled.mask)


@given(finite_f32, st.floats(1e-7, 1e-1), st.floats(0, 1e-2))
def test_a_looser_tolerance_never_adds_a_mismatch(b, rtol, atol):
    a = (b * np.float32(1.001) + np.float32(1e-3)).astype(np.float32)
    tight = mismatches(a, b, rtol=rtol, atol=atol)
    loose = mismatches(a, b, rtol=2 * rtol, atol=2 * atol)
    assert not (loose.mask & ~tight.mask).any()
