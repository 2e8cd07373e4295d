"""A run's size check evaluates the declared shapes' symbolic inference at the feeds' dims
(RunSizes._sized_at, symbolic.evaluate_dim) instead of inferring again: the sizes must be those
inference at the feeds' shapes gives, and where it cannot say, inference runs as before."""

from __future__ import annotations

import numpy as np
from gossamer.refimpl.errors import GossamerError
from gossamer.refimpl.memory_budget import RunSizes
from gossamer.refimpl.memory_plan import with_input_shapes
from gossamer.refimpl.shape_inference import infer_shapes
from gossamer.refimpl.shape_inference.symbolic import evaluate_dim
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from gossamer.session import read_model
from tests.conftest import make_model, tensor_info


def _conv_pool(kernel: int, stride: int, pad: int, ceil: int):  # type: ignore[no-untyped-def]
    w = np.ones((4, 3, kernel, kernel), np.float32)
    nodes = [
        helper.make_node(
            "Conv", ["x", "w"], ["c"], kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[pad] * 4,
        ),
        helper.make_node(
            "MaxPool", ["c"], ["p"], kernel_shape=[2, 3], strides=[2, stride], ceil_mode=ceil
        ),
        helper.make_node("Transpose", ["p"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Concat", ["t", "t"], ["y"], axis=1),
    ]  # fmt: skip
    model = make_model(
        nodes,
        [tensor_info("x", np.float32, ["N", 3, "H", "W"])],
        [tensor_info("y")],
        [numpy_helper.from_array(w, "w")],
    )
    return read_model(model.SerializeToString())


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(0, 1),
    st.integers(1, 4), st.integers(1, 300), st.integers(1, 300),
)  # fmt: skip
def test_evaluated_sizes_are_those_inference_gives(kernel, stride, pad, ceil, n, h, w):
    graph = _conv_pool(kernel, stride, pad, ceil)
    sizes = RunSizes(graph, infer_shapes(graph), 1 << 40)
    shapes = {"x": (n, 3, h, w)}
    sized = sizes._sized_at(shapes)
    try:
        inferred = infer_shapes(with_input_shapes(graph, shapes))
    except GossamerError:
        assert sized is None  # what inference refuses is left to it
        return
    if sized is None:  # a negative dim: inference says what it says, as before
        return
    assert {v.name: v.shape for v in sized} == {
        v.name: tuple(v.shape) for v in inferred.values() if v.name in {s.name for s in sized}
    }


def test_a_fresh_symbol_or_a_dim_bound_twice_differently_is_not_evaluated():
    graph = read_model(
        make_model(
            [helper.make_node("Add", ["a", "b"], ["y"])],
            [tensor_info("a", np.float32, ["N", 1]), tensor_info("b", np.float32, [1, "N"])],
            [tensor_info("y")],
        ).SerializeToString()
    )
    sizes = RunSizes(graph, infer_shapes(graph), 1 << 40)
    assert {v.name: v.shape for v in sizes._sized_at({"a": (5, 1), "b": (1, 5)})}["y"] == (5, 5)
    assert sizes._sized_at({"a": (5, 1), "b": (1, 6)}) is None
    assert sizes._sized_at({"a": (5, 2), "b": (1, 5)}) is None  # a static dim that differs


def test_evaluate_dim_is_exact_and_says_none_where_it_cannot():
    assert evaluate_dim("ceil((M1-2)/2)-4", {"M1": 12}) == 1
    assert evaluate_dim("(H-3)//2+1", {"H": 224}) == 111
    assert evaluate_dim("floor(N/3)", {"N": 2**80 + 2}) == (2**80 + 2) // 3  # no float rounding
    assert evaluate_dim("ceil(N/3)", {"N": 2**80 + 2}) == -(-(2**80 + 2) // 3)
    assert evaluate_dim("unk__0*2", {"N": 3}) is None  # unbound
    assert evaluate_dim("N/2", {"N": 3}) is None  # not an integer
    assert evaluate_dim("N//0", {"N": 3}) is None
    assert evaluate_dim("N**2", {"N": 3}) is None  # no dim operation writes a power
    assert evaluate_dim("a b", {}) is None
