"""ReduceSum/Mean/Max/Min on the cython backend: one run of axes as [outer, n, inner] in C; max
and min exact (NaN propagates), sums within float32 rounding of the reference's; other axis sets
declined per call to the reference."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.reduce_kernels import reduce_plan
from gossamer.plugins import RuntimeDecline
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._tailhelpers import assert_same, one_node_graph, run_both

OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"]


def test_plan_merges_the_reduced_run_past_size_one_axes():
    assert reduce_plan((2, 3, 4, 5), (1, 2), True) == (2, 12, 5, (2, 1, 1, 5))
    assert reduce_plan((2, 1, 4, 5), (0, 2), False) == (1, 8, 5, (1, 5))  # the 1 is no gap
    assert reduce_plan((1, 7, 7, 672), (1, 2), False) == (1, 49, 672, (1, 672))
    assert reduce_plan((3, 4), (), True) == (12, 1, 1, (3, 4))  # nothing reduced
    assert reduce_plan((3, 4), (0, 1), False) == (1, 12, 1, ())


def test_plan_declines_axes_that_are_not_one_run():
    with pytest.raises(RuntimeDecline):
        reduce_plan((2, 3, 4), (0, 2), True)
    with pytest.raises(RuntimeDecline):
        reduce_plan((2, 0, 4), (1,), True)


@st.composite
def _case(draw):
    x = draw(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=7),
                        elements=st.floats(-100, 100, width=32)))  # fmt: skip
    start = draw(st.integers(0, x.ndim - 1))
    stop = draw(st.integers(start + 1, x.ndim))
    axes = [a - x.ndim if draw(st.booleans()) else a for a in range(start, stop)]
    return x, axes, draw(st.sampled_from([0, 1])), draw(st.sampled_from(OPS))


@settings(max_examples=40, deadline=None)
@given(case=_case())
def test_a_run_of_axes_matches_the_reference(case):
    x, axes, keepdims, op = case
    graph = one_node_graph(op, {"x": x}, {"axes": np.array(axes, np.int64)}, keepdims=keepdims)
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    if op in ("ReduceMax", "ReduceMin"):
        assert_same(got, want)
    else:
        assert got.shape == want.shape and got.dtype == want.dtype
        n = x.size // max(want.size, 1)
        np.testing.assert_allclose(got, want, rtol=1e-6 * max(n, 1), atol=1e-4 * max(n, 1) ** 0.5)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,axes", [((1000,), [0]), ((3, 1000), [1]), ((500, 3, 7), [0]),
                                        ((4, 300, 300), [1, 2])])  # fmt: skip
def test_long_reductions_on_both_thread_counts(op, shape, axes, threads):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    graph = one_node_graph(op, {"x": x}, {"axes": np.array(axes, np.int64)}, keepdims=0)
    got, want, _ = run_both(graph, {"x": x}, threads=threads)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(x.size / want.size))


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("inner", [1, 5])
def test_max_and_min_propagate_nan_like_numpy(op, inner):
    x = np.arange(40 * inner, dtype=np.float32).reshape(2, 20, inner)
    x[0, 3] = np.nan
    x[1, 19] = -np.inf
    graph = one_node_graph(op, {"x": x}, {"axes": np.array([1], np.int64)})
    got, want, _ = run_both(graph, {"x": x})
    assert_same(got, want)


@pytest.mark.parametrize("version", [1, 13, 18])
def test_every_version_and_a_missing_axes_reduce_everything(version):
    x = np.random.default_rng(2).standard_normal((3, 4, 5)).astype(np.float32)
    op = "ReduceSum" if version == 13 else "ReduceMean"
    graph = one_node_graph(op, {"x": x}, opset=version, keepdims=0)
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython"
    assert got.shape == () and np.allclose(got, want, rtol=1e-6)


def test_attribute_axes_of_opset_11():
    x = np.random.default_rng(3).standard_normal((2, 6, 5)).astype(np.float32)
    graph = one_node_graph("ReduceMax", {"x": x}, opset=11, axes=[-1, 1], keepdims=1)
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython"
    assert_same(got, want)


def test_noop_with_empty_axes_copies():
    x = np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32)
    graph = one_node_graph("ReduceMean", {"x": x}, {"axes": np.zeros(0, np.int64)},
                           noop_with_empty_axes=1)  # fmt: skip
    got, want, _ = run_both(graph, {"x": x})
    assert_same(got, want)


def test_axes_that_are_not_one_run_fall_back_at_run_time():
    x = np.random.default_rng(5).standard_normal((2, 3, 4)).astype(np.float32)
    graph = one_node_graph("ReduceSum", {"x": x}, {"axes": np.array([0, 2], np.int64)})
    got, want, sess = run_both(graph, {"x": x})
    assert_same(got, want)
    assert "not one run" in sess.runtime_fallbacks["n"][1]


def test_run_time_axes_input():
    x = np.random.default_rng(6).standard_normal((2, 3, 4)).astype(np.float32)
    axes = np.array([1], np.int64)
    graph = one_node_graph("ReduceMin", {"x": x, "axes": axes}, symbolic=True)
    got, want, sess = run_both(graph, {"x": x, "axes": axes})
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    assert_same(got, want)
