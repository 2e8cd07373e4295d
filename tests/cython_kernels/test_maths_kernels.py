"""Sqrt, Log and Pow (scalar exponent) on the cython backend: computed in double and rounded
once, as the reference, so they match it bit for bit on every SIMD level (special values too)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.maths_kernels import exponent_value
from gossamer.plugins import RuntimeDecline
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._tailhelpers import assert_same, one_node_graph, run_both

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-45, 3e38, -2.5, 0.5],
                   np.float32)  # fmt: skip
FLOATS = st.floats(width=32)
ARRAYS = hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=0, max_dims=4, max_side=9), elements=FLOATS
)


@pytest.mark.filterwarnings("ignore:invalid value", "ignore:divide by zero")
@pytest.mark.parametrize("op", ["Sqrt", "Log"])
def test_unary_maths_equal_the_reference_on_special_values(level, op):
    x = np.concatenate([SPECIAL, np.geomspace(1e-30, 1e30, 101, dtype=np.float32)])
    got, want, sess = run_both(one_node_graph(op, {"x": x}), {"x": x})
    assert sess.placement.backend_of["n"] == "cython"
    assert_same(got, want)


@pytest.mark.filterwarnings("ignore:invalid value", "ignore:divide by zero", "ignore:overflow")
@settings(max_examples=25, deadline=None)
@given(x=ARRAYS, op=st.sampled_from(["Sqrt", "Log"]))
def test_unary_maths_equal_the_reference_on_any_shape(x, op):
    got, want, _ = run_both(one_node_graph(op, {"x": x}), {"x": x})
    assert_same(got, want)


@pytest.mark.filterwarnings("ignore:invalid value", "ignore:divide by zero", "ignore:overflow")
@pytest.mark.parametrize("e", [2.0, 3.0, 0.5, -1.0, 1.5, 0.0, 1.0, -2.0, np.inf, np.nan])
def test_pow_by_a_constant_scalar_equals_the_reference(level, e):
    x = np.concatenate([SPECIAL, np.linspace(-9, 9, 77, dtype=np.float32)]).reshape(4, 22)
    graph = one_node_graph("Pow", {"x": x}, {"e": np.array(e, np.float32)})
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython"
    np.testing.assert_allclose(got, want, rtol=2e-7, atol=0)  # within one float32 rounding


@pytest.mark.filterwarnings("ignore:invalid value", "ignore:divide by zero", "ignore:overflow")
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.float64])
def test_pow_takes_a_run_time_scalar_exponent_of_any_listed_dtype(dtype):
    x = np.linspace(0.1, 5, 40, dtype=np.float32).reshape(5, 8)
    e = np.array([3], dtype)
    graph = one_node_graph("Pow", {"x": x, "e": e}, symbolic=True)
    got, want, sess = run_both(graph, {"x": x, "e": e})
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    np.testing.assert_allclose(got, want, rtol=2e-7)


def test_pow_square_is_exactly_the_reference():
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32) * 1e3
    got, want, _ = run_both(one_node_graph("Pow", {"x": x}, {"e": np.array(2.0, np.float32)}),
                            {"x": x})  # fmt: skip
    assert_same(got, want)


def test_pow_with_an_elementwise_exponent_is_left_to_the_reference():
    x = np.ones((3, 4), np.float32)
    graph = one_node_graph("Pow", {"x": x}, {"e": np.full((3, 4), 2.0, np.float32)})
    _, _, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "reference"
    assert "scalar" in str(sess.placement.declined["n"])


def test_a_run_time_exponent_that_is_not_a_float32_is_declined_per_call():
    x = np.full((2, 3), 2.0, np.float32)
    e = np.array(0.1, np.float64)  # not exactly a float32: the reference's float64 power differs
    graph = one_node_graph("Pow", {"x": x, "e": e}, symbolic=True)
    got, want, sess = run_both(graph, {"x": x, "e": e})
    assert_same(got, want)
    assert sess.runtime_fallbacks["n"][0] == 1


def test_exponent_value_accepts_exact_float32_values_only():
    assert exponent_value(np.array([[2]], np.int64)) == 2.0
    assert np.isnan(exponent_value(np.array(np.nan, np.float64)))
    for bad in (np.array([1.0, 2.0], np.float32), np.array(2**25 + 1, np.int64)):
        with pytest.raises(RuntimeDecline):
            exponent_value(bad)
