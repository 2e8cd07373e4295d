"""The float8 paths against the reference: every fused activation in the vector epilogues (full
16-column GEMM tiles, full 8-pixel conv rows), the erfc behind Gelu in its tails, the 8-output
MaxPool kernel (vector taps at stride 1 and 2, the gather at the padding, NaN propagation) and
Softmax over contiguous rows (plain and behind a fused mask Add) or 8 rows side by side."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value

from .conftest import check_against_reference
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")

ACTIVATIONS = [
    ("Relu", []),
    ("Clip", [-0.5, 0.5]),
    ("HardSigmoid", [0.3, 0.4]),
    ("HardSwish", []),
    ("Sigmoid", []),
    ("LeakyRelu", [0.1]),
    ("Swish", [1.3]),
    ("Gelu", []),
]


def fused(op: str, names: list[str], activation: str, params: list[float], **attrs) -> Node:
    attrs = {"activation": activation, **attrs}
    if params:
        attrs["activation_params"] = params
    return Node(op, names, ["y0"], attrs, name="n", domain="gossamer")


@pytest.mark.parametrize(("activation", "params"), ACTIVATIONS)
def test_gemm_vector_epilogue_applies_each_activation(activation, params):
    # 32 columns: two full 16-column tiles; values of both signs and out to |x| ~ 8
    graph, feeds = one_node("MatMul", {"a": rand(6, 20) * 2}, {"b": rand(20, 32), "c": rand(32)})
    graph.nodes[0] = fused("FusedMatMul", ["a", "b", "c"], activation, params)
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("activation", "params"), ACTIVATIONS)
def test_direct_conv_vector_epilogue_applies_each_activation(activation, params):
    graph, feeds = one_node("Conv", {"x": rand(1, 3, 5, 16)}, {"w": rand(4, 3, 3, 3), "b": rand(4)})
    graph.nodes[0] = fused("FusedConv", ["x", "w", "b"], activation, params, pads=[1, 1, 1, 1])
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


def test_gelu_keeps_its_relative_accuracy_in_the_tails():
    """0.5 x erfc(-x / sqrt 2) down to x = -5.5 (values ~1e-7): relative, not absolute, error
    (further out the reference's float64 1 + erf(x) itself rounds to 0)."""
    x = np.linspace(-5.5, 6, 16 * 64, dtype=np.float32).reshape(64, 16)
    graph, feeds = one_node("MatMul", {"a": x}, {"b": np.eye(16, dtype=np.float32)})
    graph.nodes[0] = fused("FusedMatMul", ["a", "b"], "Gelu", [])
    check_against_reference(graph, feeds, rtol=2e-5, atol=0.0)


@pytest.mark.parametrize(
    ("shape", "attrs"),
    [
        ((1, 4, 24, 40), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ((2, 3, 17, 29), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),  # stride 1
        ((1, 5, 20, 23), {"kernel_shape": [5, 5], "pads": [2, 2, 2, 2]}),
        ((1, 2, 9, 33), {"kernel_shape": [2, 3], "strides": [3, 3], "dilations": [2, 1]}),
        ((1, 2, 12, 18), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
    ],
)
def test_vector_max_pool_matches_the_reference_with_nans(shape, attrs):
    x = rand(*shape)
    x.reshape(-1)[::37] = np.nan
    graph = Graph(
        nodes=[Node("MaxPool", ["x"], ["y"], attrs, name="p")],
        inputs=[Value("x", "float32", shape)],
        outputs=[Value("y")],
        initializers={},
        opsets={"": 17},
    )
    check_against_reference(graph, {"x": x}, rtol=0.0, atol=0.0)


@pytest.mark.parametrize(
    ("shape", "axis", "mask"),
    [
        ((1, 16, 4, 24), 1, False),  # inner 96: 8 rows side by side (softmax8_f32)
        ((1, 3, 5, 32), -1, False),  # contiguous rows of 32
        ((1, 3, 5, 32), -1, True),  # the generated mask-add softmax, contiguous rows
        ((2, 3, 8, 5), 2, True),  # neither: the scalar paths
    ],
)
def test_vector_softmax_matches_the_reference(shape, axis, mask):
    x = rand(*shape) * 3
    x[0, 0, 0, :2] = [np.nan, 1.0]  # a NaN row stays NaN
    nodes, inputs, feeds, src = [], [Value("x", "float32", shape)], {"x": x}, "x"
    if mask:
        nodes.append(Node("Add", ["x", "m"], ["xm"], {}, name="add"))
        inputs.append(Value("m", "float32", (1, 1, 1, shape[-1])))
        feeds["m"], src = rand(1, 1, 1, shape[-1]), "xm"
    nodes.append(Node("Softmax", [src], ["y"], {"axis": axis}, name="sm"))
    graph = Graph(
        nodes=nodes, inputs=inputs, outputs=[Value("y")], initializers={}, opsets={"": 17}
    )
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("op", "shape", "attrs"),
    [
        ("GlobalAveragePool", (2, 70, 5, 7), {}),  # rows of 35: 4 float8 steps and a tail of 3
        ("GlobalAveragePool", (1, 3, 2, 5), {}),  # rows of 10: the scalar loop only
        ("ReduceMean", (3, 40, 24), {"axes": [2], "keepdims": 1}),  # contiguous rows of 24
    ],
)
def test_row_reductions_in_float8_match_the_reference(op, shape, attrs):
    x = rand(*shape)
    x.reshape(-1)[5] = np.inf
    graph, feeds = one_node(op, {"x": x}, {}, attrs, opset=13)
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)
