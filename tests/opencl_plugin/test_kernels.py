"""Each kernel family against the reference, on the shapes and attributes that pick its code
paths (1x1 / general / grouped / depthwise convolution, GEMV, batched and broadcast MatMul, ...).
Conformance (`gossamer conformance --backend opencl`) covers the drawn values; these pin paths."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value

from .conftest import check_against_reference

pytestmark = pytest.mark.usefixtures("device")
RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def one_node(op, inputs, consts, attrs=None, n_out=1, opset=17, domain="") -> tuple:
    names = list(inputs) + list(consts)
    node = Node(op, names, [f"y{i}" for i in range(n_out)], attrs or {}, name="n", domain=domain)
    opsets = {"": opset, "gossamer": 1}
    graph = Graph(
        nodes=[node],
        inputs=[Value(k, "float32", v.shape) for k, v in inputs.items()],
        outputs=[Value(f"y{i}") for i in range(n_out)],
        initializers=dict(consts),
        opsets=opsets,
    )
    return graph, dict(inputs)


@pytest.mark.parametrize(
    ("x", "w", "attrs"),
    [
        ((1, 8, 9, 7), (16, 8, 1, 1), {}),  # 1x1: x read in place as the GEMM's B
        ((2, 3, 11, 10), (5, 3, 3, 3), {"pads": [1, 2, 0, 1], "strides": [2, 1]}),  # im2col
        ((1, 4, 9, 9), (6, 2, 3, 3), {"group": 2, "dilations": [2, 2]}),  # grouped
        ((2, 6, 8, 8), (6, 1, 3, 3), {"group": 6, "pads": [1, 1, 1, 1], "strides": [2, 2]}),
        ((1, 4, 20), (8, 4, 5), {"auto_pad": "SAME_UPPER"}),  # 1-D
    ],
)
def test_conv_paths_match_the_reference(x, w, attrs):
    graph, feeds = one_node("Conv", {"x": rand(*x)}, {"w": rand(*w), "b": rand(w[0])}, attrs)
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["Relu", "HardSwish", "LeakyRelu", "Sigmoid", "PRelu"])
def test_fused_conv_epilogue_adds_bias_residual_and_activation(activation):
    consts = {"w": rand(8, 4, 3, 3), "b": rand(8)}
    if activation == "PRelu":
        consts["slope"] = rand(8, 1, 1)
    else:
        consts["slope"] = None  # type: ignore[assignment]
    inputs = {"x": rand(1, 4, 6, 6)}
    names = ["x", "w", "b", "slope" if activation == "PRelu" else "", "z"]
    node = Node(
        "FusedConv",
        names,
        ["y"],
        {"pads": [1, 1, 1, 1], "activation": activation},
        name="n",
        domain="gossamer",
    )
    graph = Graph(
        nodes=[node],
        inputs=[Value("x", "float32", (1, 4, 6, 6)), Value("z", "float32", (1, 8, 6, 6))],
        outputs=[Value("y")],
        initializers={k: v for k, v in consts.items() if v is not None},
        opsets={"": 17, "gossamer": 1},
    )
    check_against_reference(graph, {**inputs, "z": rand(1, 8, 6, 6)}, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("a", "b", "attrs", "c"),
    [
        ((1, 40), (40, 33), {}, (33,)),  # GEMV
        ((7, 40), (33, 40), {"transB": 1, "alpha": 0.5, "beta": 2.0}, (1, 33)),
        ((40, 5), (40, 33), {"transA": 1}, (5, 1)),  # row bias
        ((5, 40), (40, 33), {}, (5, 33)),  # full C: the residual path
    ],
)
def test_gemm_variants_match_the_reference(a, b, attrs, c):
    graph, feeds = one_node("Gemm", {"a": rand(*a)}, {"b": rand(*b), "c": rand(*c)}, attrs)
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("a", "b", "const_b"),
    [
        ((2, 3, 5, 17), (17, 20), True),  # batched A, packed constant B
        ((2, 3, 5, 17), (2, 3, 17, 20), False),  # attention-style, both batched
        ((5, 17), (4, 17, 9), False),  # broadcast A
        ((17,), (17, 9), True),  # 1-D A
        ((5,), (2, 3, 5, 1), False),  # 1-D A, batched B: the batch is B's (not output[:-2])
    ],
)
def test_matmul_batches_and_broadcasts_like_the_reference(a, b, const_b):
    inputs = {"a": rand(*a)}
    if const_b:
        graph, feeds = one_node("MatMul", inputs, {"b": rand(*b)})
    else:
        graph, feeds = one_node("MatMul", {**inputs, "b": rand(*b)}, {})
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("op", "attrs"),
    [
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("MaxPool", {"kernel_shape": [2, 2], "ceil_mode": 1, "strides": [2, 2]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 0}),
        ("AveragePool", {"kernel_shape": [3, 2], "pads": [1, 0, 1, 1], "count_include_pad": 1}),
        ("GlobalAveragePool", {}),
    ],
)
def test_pooling_matches_the_reference(op, attrs):
    graph, feeds = one_node(op, {"x": rand(2, 3, 9, 8)}, {}, attrs)
    check_against_reference(graph, feeds)


@pytest.mark.parametrize(("opset", "axis"), [(13, -1), (13, 1), (11, 1)])
def test_softmax_axis_semantics_per_opset(opset, axis):
    graph, feeds = one_node("Softmax", {"x": rand(2, 3, 4, 5)}, {}, {"axis": axis}, opset=opset)
    check_against_reference(graph, feeds)


def test_layer_normalization_matches_the_reference():
    consts = {"scale": rand(4, 6), "bias": rand(4, 6)}
    graph, feeds = one_node("LayerNormalization", {"x": rand(3, 4, 6)}, consts, {"axis": -2})
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("op", "extra", "attrs"),
    [
        ("Transpose", {}, {"perm": [2, 0, 3, 1]}),
        ("Slice", {"s": [1, 0], "e": [3, -1], "a": [1, 3], "st": [1, 2]}, {}),
        ("Slice", {"s": [-1], "e": [-10], "a": [2], "st": [-2]}, {}),
        ("Gather", {"i": [[2, 0], [1, -1]]}, {"axis": 1}),
        ("Split", {"sp": [1, 2]}, {"axis": 1}),
        ("Pad", {"p": [0, 1, 2, 0, 0, 1, 0, 2]}, {"mode": "reflect"}),
        ("Pad", {"p": [0, 0, 1, 1, 0, 0, 1, 1], "v": 0.5}, {"mode": "constant"}),
        ("DepthToSpace", {}, {"blocksize": 1}),
    ],
)
def test_data_movement_matches_the_reference(op, extra, attrs):
    consts = {k: np.array(v, np.float32 if k == "v" else np.int64) for k, v in extra.items()}
    n_out = 2 if op == "Split" else 1
    graph, feeds = one_node(op, {"x": rand(2, 3, 4, 5)}, consts, attrs, n_out=n_out)
    check_against_reference(graph, feeds, rtol=0, atol=0)


def test_nearest_resize_matches_the_reference():
    consts = {"roi": np.zeros(0, np.float32), "scales": np.array([1, 1, 2, 1.5], np.float32)}
    attrs = {
        "mode": "nearest",
        "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor",
    }
    graph, feeds = one_node("Resize", {"x": rand(1, 2, 3, 4)}, consts, attrs)
    check_against_reference(graph, feeds, rtol=0, atol=0)


def test_resize_whose_output_shape_the_shape_rule_leaves_open(caplog):
    """keep_aspect_ratio_policy: shape inference leaves the output dims open; the index map (the
    reference op run on the indices) gives the shape, so the node still runs on the device."""
    consts = {"roi": np.zeros(0, np.float32), "sizes": np.array([1, 2, 5, 7], np.int64)}
    attrs = {"mode": "nearest", "keep_aspect_ratio_policy": "not_larger"}
    names = ["x", "roi", "", "sizes"]
    graph = Graph(
        nodes=[Node("Resize", names, ["y"], attrs, name="n")],
        inputs=[Value("x", "float32", (1, 2, 3, 4))],
        outputs=[Value("y")],
        initializers=consts,
        opsets={"": 19},
    )
    with caplog.at_level("WARNING"):
        sess = check_against_reference(graph, {"x": rand(1, 2, 3, 4)}, rtol=0, atol=0)
    assert "compile failed" not in caplog.text
    assert sess.run(None, {"x": rand(1, 2, 3, 4)})[0].shape == (1, 2, 3, 4)


def test_concat_of_a_broadcast_elementwise_chain():
    nodes = [
        Node("Mul", ["x", "k"], ["m"], name="mul"),  # k broadcast over (1, C, 1, 1)
        Node("Add", ["m", "b"], ["s"], name="add"),  # b: a one-element constant (a literal)
        Node("Sigmoid", ["s"], ["g"], name="sig"),
        Node("Mul", ["s", "g"], ["w"], name="swish"),
        Node("Concat", ["w", "x"], ["y"], {"axis": 1}, name="cat"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (1, 3, 4, 5))],
        outputs=[Value("y")],
        initializers={"k": rand(1, 3, 1, 1), "b": np.array([0.25], np.float32)},
        opsets={"": 17},
    )
    sess = check_against_reference(graph, {"x": rand(1, 3, 4, 5)})
    ((_, claim),) = sess.placement.partitions
    assert claim.note == "fused element-wise kernels: Mul+Add+Sigmoid+Mul"


def test_batch_normalization_runs_as_an_elementwise_kernel():
    consts = {"s": rand(3), "b": rand(3), "m": rand(3), "v": np.abs(rand(3)) + 0.1}
    graph, feeds = one_node("BatchNormalization", {"x": rand(2, 3, 4, 4)}, consts)
    check_against_reference(graph, feeds)


def test_a_reshape_whose_shape_is_computed_outside_runs_per_shape_plan():
    """Shape -> Reshape: the int64 shape enters the partition as a value keying its plan; a new
    input shape builds a new plan."""
    nodes = [
        Node("Shape", ["x"], ["shp"], name="shape"),
        Node("Relu", ["x"], ["r"], name="relu"),
        Node("Reshape", ["r", "flat"], ["f"], name="flatten"),
        Node("Reshape", ["f", "shp"], ["y"], name="back"),
        Node("Add", ["y", "x"], ["z"], name="add"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", ("n", 4))],
        outputs=[Value("z")],
        initializers={"flat": np.array([-1], np.int64)},
        opsets={"": 17},
    )
    import gossamer

    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert sess.placement.backend_of["back"] == "opencl"
    for n in (2, 5):
        x = rand(n, 4)
        (z,) = sess.run(None, {"x": x})
        np.testing.assert_allclose(z, np.maximum(x, 0) + x, rtol=1e-6)


@pytest.mark.parametrize(("opset", "axis"), [(13, -1), (13, 1), (11, 1)])
def test_a_mask_add_runs_inside_the_softmax_kernel(opset, axis):
    nodes = [
        Node("Mul", ["x", "scale"], ["s"], name="scale"),
        Node("Add", ["s", "mask"], ["a"], name="mask_add"),  # mask broadcast over the heads
        Node("Softmax", ["a"], ["y"], {"axis": axis}, name="softmax"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (2, 3, 4, 5)), Value("mask", "float32", (2, 1, 1, 5))],
        outputs=[Value("y")],
        initializers={"scale": np.array(0.125, np.float32)},
        opsets={"": opset},
    )
    mask = np.where(RNG.random((2, 1, 1, 5)) < 0.3, -1e4, 0).astype(np.float32)
    sess = check_against_reference(graph, {"x": rand(2, 3, 4, 5), "mask": mask})
    ((_, claim),) = sess.placement.partitions
    assert claim.note == "fused element-wise kernels: Mul+Add+Softmax"
