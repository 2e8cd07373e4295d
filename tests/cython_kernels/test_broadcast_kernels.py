"""Expand and Tile on the cython backend: one strided copy from a stride-0 view of the input,
equal to the reference for every dtype and shape."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.broadcast_kernels import tile_views
from hypothesis import given, settings
from hypothesis import strategies as st

from ._tailhelpers import assert_same, one_node_graph, run_both


@st.composite
def _expand(draw):
    rank = draw(st.integers(0, 4))
    target = [draw(st.integers(1, 4)) for _ in range(rank)]
    shape = [d if draw(st.booleans()) else 1 for d in target][draw(st.integers(0, rank)) :]
    extra = draw(st.integers(0, 1))
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape), [1] * extra + target


@settings(max_examples=40, deadline=None)
@given(case=_expand())
def test_expand_equals_the_reference(case):
    x, target = case
    graph = one_node_graph("Expand", {"x": x}, {"shape": np.array(target, np.int64)})
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    assert_same(got, want)


@st.composite
def _tile(draw):
    shape = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 4)))]
    reps = [draw(st.integers(0, 3)) for _ in shape]
    return np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape), reps


@settings(max_examples=40, deadline=None)
@given(case=_tile())
def test_tile_equals_the_reference(case):
    x, reps = case
    graph = one_node_graph("Tile", {"x": x}, {"r": np.array(reps, np.int64)})
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    assert_same(got, want)


@pytest.mark.parametrize("dtype", ["bool", "float16", "int64", "uint8"])
def test_run_time_shape_and_repeats_of_any_dtype(dtype):
    x = (np.arange(6).reshape(2, 1, 3) % 2).astype(dtype)
    for op, arg in (("Expand", np.array([4, 2, 5, 3], np.int64)), ("Tile", np.array([2, 3, 1]))):
        graph = one_node_graph(op, {"x": x, "s": arg}, symbolic=True)
        got, want, sess = run_both(graph, {"x": x, "s": arg})
        assert sess.placement.backend_of["n"] == "cython"
        assert_same(got, want)


def test_tile_views_leave_size_one_entries_out():
    assert tile_views((3, 1, 5), (2, 4, 1)) == ((6, 4, 5), (2, 3, 4, 5), (1, 3, 1, 5))


def test_a_shape_that_does_not_broadcast_is_the_reference_error():
    import gossamer

    x = np.ones((2, 3), np.float32)
    graph = one_node_graph("Expand", {"x": x}, {"shape": np.array([4, 3, 2], np.int64)})
    with pytest.raises(gossamer.GossamerError, match="broadcast"):
        gossamer.load(graph, backends=["cython"], optimize=0).run(None, {"x": x})
