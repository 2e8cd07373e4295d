"""The conformance suite judges outputs with the one definition of "mismatch" that `gossamer
compare` uses too (refimpl/mismatch.py)."""

from __future__ import annotations

import numpy as np
from gossamer.conformance.output_check import compare_outputs
from gossamer.conformance.tolerances import Tolerance, tolerance
from gossamer.refimpl.mismatch import mismatches
from gossamer.tools.tensor_diff import diff_values
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

F32 = tolerance("float32")


def big_tensor() -> np.ndarray:
    b = (np.random.default_rng(0).standard_normal(1000) * 1e4).astype(np.float32)
    b[3] = np.float32(0.5)
    return b


def test_float_noise_near_zero_in_a_large_tensor_passes():
    expected = big_tensor()
    actual = expected.copy()
    actual[3] += np.float32(4 * np.finfo(np.float32).eps * 4e4)  # ulps of the large values
    problems, (stats,) = compare_outputs([expected], [actual], [F32])
    assert problems == [] and stats.mismatched == 0


def test_a_real_error_fails_and_the_message_names_the_applied_atol():
    expected = big_tensor()
    actual = expected.copy()
    actual[3] += np.float32(100.0)
    problems, (stats,) = compare_outputs([expected], [actual], [F32])
    assert stats.mismatched == 1
    assert "mismatched 1/1000" in problems[0] and "atol applied" in problems[0]


def test_quantised_integers_may_differ_by_one_unit_only():
    expected = np.array([0, 10, -5], np.int8)
    quant1 = tolerance("int8", "quant1")
    assert compare_outputs([expected], [np.array([1, 9, -5], np.int8)], [quant1])[0] == []
    problems, _ = compare_outputs([expected], [np.array([2, 10, -5], np.int8)], [quant1])
    assert "mismatched 1/3" in problems[0]
    exact = tolerance("int8")
    assert compare_outputs([expected], [np.array([1, 10, -5], np.int8)], [exact])[0] != []


def test_nan_must_match_nan():
    expected = np.array([np.nan, 1.0], np.float32)
    assert compare_outputs([expected], [expected.copy()], [F32])[0] == []
    problems, (stats,) = compare_outputs([expected], [np.array([0.0, 1.0], np.float32)], [F32])
    assert stats.nonfinite_mismatched == 1 and "NaN/inf" in problems[0]


values = hnp.arrays(
    np.float32,
    st.integers(1, 48),
    elements=st.one_of(
        st.floats(-1e4, 1e4, width=32),
        st.sampled_from([0.0, float("nan"), float("inf"), -float("inf")]),
    ),
)


@given(values, st.data(), st.sampled_from([(1e-5, 1e-6), (1e-3, 1e-4), (0.0, 0.0)]))
def test_conformance_and_compare_count_the_same_mismatches(expected, data, tols):
    rtol, atol = tols
    noise = data.draw(hnp.arrays(np.float32, expected.shape, elements=st.floats(-0.01, 0.01)))
    with np.errstate(invalid="ignore"):  # inf - inf: a NaN on one side, as intended
        actual = (expected + noise * np.abs(expected).clip(1, None)).astype(np.float32)
    actual[::7] = expected[::7][::-1]  # some large, some special disagreements
    _, (stats,) = compare_outputs([expected], [actual], [Tolerance(rtol, atol)])
    shared = mismatches(actual, expected, rtol=rtol, atol=atol)
    tool = diff_values(actual, expected, rtol=rtol, atol=atol)
    assert stats.mismatched == shared.count == tool.mismatches
    assert stats.nonfinite_mismatched == tool.nonfinite
