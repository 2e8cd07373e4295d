"""Where (full-size or one-element operands, any fixed-size dtype) and IsNaN on the cython
backend, equal to the reference; partial broadcasts are declined."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._tailhelpers import assert_same, one_node_graph, run_both


@st.composite
def _case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, max_side=6))
    one = tuple(1 for _ in shape)

    def operand(dtype, elements):
        s = draw(st.sampled_from([shape, one, ()]))
        return draw(hnp.arrays(dtype, s, elements=elements))

    c = operand(np.bool_, st.booleans())
    x = operand(np.float32, st.floats(width=32))
    y = operand(np.float32, st.floats(width=32))
    if max(a.ndim for a in (c, x, y)) < len(shape) or all(a.size == 1 for a in (c, x, y)):
        c = np.broadcast_to(c, shape).copy()
    return c, x, y


@settings(max_examples=40, deadline=None)
@given(case=_case())
def test_where_with_full_or_scalar_operands_equals_the_reference(case):
    c, x, y = case
    feeds = {"c": c, "a": x, "b": y}
    got, want, sess = run_both(one_node_graph("Where", feeds), feeds)
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    assert_same(got, want)


@pytest.mark.parametrize("dtype", ["int64", "int8", "float16", "bool", "bfloat16"])
def test_where_on_any_fixed_size_dtype_with_two_threads(dtype):
    from gossamer.refimpl.dtypes import to_numpy

    rng = np.random.default_rng(0)
    c = rng.random((3, 40000)) < 0.5
    x = (rng.standard_normal((3, 40000)) * 50).astype(to_numpy(dtype))
    y = np.array(7).astype(to_numpy(dtype))
    feeds = {"c": c, "a": x}
    graph = one_node_graph("Where", feeds, {"b": y})
    got, want, _ = run_both(graph, feeds, threads=2)
    assert_same(got, want)


def test_a_partial_broadcast_is_declined_at_load_or_per_call():
    c = np.array([[True], [False]])
    x, y = np.ones((2, 3), np.float32), np.zeros((1, 3), np.float32)
    feeds = {"c": c, "a": x, "b": y}
    got, want, sess = run_both(one_node_graph("Where", feeds), feeds)
    assert_same(got, want)
    assert sess.placement.backend_of["n"] == "reference"
    got, want, sess = run_both(one_node_graph("Where", feeds, symbolic=True), feeds)
    assert_same(got, want)
    assert "broadcast partly" in sess.runtime_fallbacks["n"][1]


def test_isnan_marks_nan_only():
    x = np.array([0.0, np.nan, np.inf, -np.inf, -np.nan, 1e-45, 3.0], np.float32).reshape(7, 1)
    got, want, sess = run_both(one_node_graph("IsNaN", {"x": x}), {"x": x})
    assert sess.placement.backend_of["n"] == "cython"
    assert_same(got, want)


def test_attention_mask_chain_is_one_segment():
    """Where(IsNaN(p), 0, p) as MiniLM's exported softmax guard: recorded end to end."""
    from gossamer.cython_kernels import segments
    from gossamer.refimpl.ir import Graph, Node, Value

    import gossamer

    graph = Graph(
        [
            Node("Softmax", ["s"], ["p"], name="softmax", attrs={"axis": -1}),
            Node("IsNaN", ["p"], ["m"], name="isnan"),
            Node("Where", ["m", "zero", "p"], ["y"], name="where"),
        ],
        [Value("s", "float32", (1, 2, 4, 4))],
        [Value("y", "float32", (1, 2, 4, 4))],
        initializers={"zero": np.array(0.0, np.float32)},
        name="guard",
        opsets={"": 17},
    )
    fast = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    s = np.random.default_rng(1).standard_normal((1, 2, 4, 4)).astype(np.float32)
    s[0, 0, 0] = -np.inf  # a fully masked row: NaN, zeroed by the guard
    want = gossamer.load(graph, backends=[], optimize=0).run(None, {"s": s})[0]
    for _ in range(3):  # the softmax kernel rounds within an ulp of the reference's
        np.testing.assert_allclose(fast.run(None, {"s": s})[0], want, rtol=1e-6, atol=0)
    assert segments.split_reasons(fast._program) == {}
