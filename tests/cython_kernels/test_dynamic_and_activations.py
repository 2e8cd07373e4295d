"""Symbolic shapes, 1-D and Winograd convolution, and the activation kernels of the cython backend
agree with the reference (both SIMD paths, 1 and 2 threads)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import onnx
import pytest
from gossamer.cython_kernels import conv_kernels
from gossamer.refimpl.ir import Node
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from ._helpers import assert_close, assert_on_cython, one_node, run_both

CONV_TOL = {"rtol": 1e-4, "atol": 1e-4}


def symbolic_model(
    op: str, inputs: dict[str, list], constants: dict[str, np.ndarray] | None = None,
    domain: str = "", opset: int = 17, **attrs: Any,
) -> bytes:  # fmt: skip
    """One `op` node whose graph inputs have the given (partly symbolic: str) shapes."""
    constants = constants or {}
    node = helper.make_node(op, list(inputs) + list(constants), ["y"], domain=domain, **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in constants.items()],
    )  # fmt: skip
    imports = [helper.make_opsetid("", opset)] + (
        [helper.make_opsetid(domain, 1)] if domain else []
    )
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


@pytest.fixture
def winograd_always() -> Iterator[None]:
    before = conv_kernels.WINOGRAD
    conv_kernels.WINOGRAD = "always"
    yield
    conv_kernels.WINOGRAD = before


# ---- symbolic shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 3, 9, 11), (2, 3, 5, 4)])
def test_conv_with_symbolic_batch_and_spatial_dims_runs_on_cython(shape, simd, threads):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    b = rng.standard_normal(4, dtype=np.float32)
    model = symbolic_model("Conv", {"x": ["N", 3, "H", "W"]}, {"w": w, "b": b}, pads=[1, 1, 1, 1])
    x = rng.standard_normal(shape, dtype=np.float32)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **CONV_TOL)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 5), m=st.integers(1, 9), length=st.integers(3, 40),
       k=st.integers(1, 5), stride=st.integers(1, 3), pad=st.integers(0, 2),
       dil=st.integers(1, 2), depthwise=st.booleans())  # fmt: skip
def test_1d_conv_matches_reference(n, c, m, length, k, stride, pad, dil, depthwise, simd, threads):
    if (k - 1) * dil + 1 > length + 2 * pad:
        return
    rng = np.random.default_rng(length)
    group, m = (c, c) if depthwise else (1, m)
    w = rng.standard_normal((m, c // group, k), dtype=np.float32)
    model = symbolic_model("Conv", {"x": ["N", c, "L"]}, {"w": w}, group=group, strides=[stride],
                           pads=[pad, pad], dilations=[dil])  # fmt: skip
    x = rng.standard_normal((n, c, length), dtype=np.float32)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **CONV_TOL)


def test_3d_convolution_is_declined_with_a_reason():
    model = symbolic_model(
        "Conv", {"x": ["N", 1, 4, 4, 4]}, {"w": np.ones((1, 1, 2, 2, 2), np.float32)}
    )
    x = np.ones((1, 1, 4, 4, 4), np.float32)
    _, _, placement = run_both(model, {"x": x}, 1)
    (reasons,) = placement.declined.values()
    assert "3-D convolution" in reasons["cython"]


@pytest.mark.parametrize(
    "a_shape, b_shape, a_sym, b_sym",
    [
        ((2, 3, 4, 5), (1, 3, 1, 1), ["N", 3, "H", "W"], [1, 3, 1, 1]),
        ((2, 3, 4, 5), (5,), ["N", 3, "H", "W"], ["W"]),
        ((3, 1), (1, 4), ["A", 1], [1, "B"]),  # both broadcast: the reference runs, claimed anyway
        ((4,), (2, 3, 4), ["L"], ["N", "C", "L"]),
    ],
)
@pytest.mark.parametrize("op", ["Add", "Mul", "Sub", "Div"])
def test_binary_ops_with_symbolic_shapes_are_claimed_and_match(op, a_shape, b_shape, a_sym, b_sym,
                                                               simd, threads):  # fmt: skip
    rng = np.random.default_rng(1)
    a = rng.standard_normal(a_shape, dtype=np.float32)
    b = rng.uniform(0.5, 2, b_shape).astype(np.float32)
    ours, ref, placement = run_both(symbolic_model(op, {"a": a_sym, "b": b_sym}), {"a": a, "b": b},
                                    threads)  # fmt: skip
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "op, attrs",
    [("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
     ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
     ("GlobalAveragePool", {}), ("Softmax", {"axis": -1}), ("Softmax", {"axis": 1, "opset": 11})],
)  # fmt: skip
def test_pools_and_softmax_with_symbolic_shapes_are_claimed(op, attrs, simd, threads):
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 9), dtype=np.float32)
    attrs = dict(attrs)
    opset = attrs.pop("opset", 17)
    model = symbolic_model(op, {"x": ["N", "C", "H", "W"]}, opset=opset, **attrs)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_batch_normalization_with_symbolic_dims_is_claimed(simd):
    rng = np.random.default_rng(3)
    consts = {k: rng.uniform(0.5, 2, 3).astype(np.float32) for k in ("s", "b", "m", "v")}
    model = symbolic_model("BatchNormalization", {"x": ["N", 3, "H", "W"]}, consts)
    x = rng.standard_normal((2, 3, 4, 5), dtype=np.float32)
    ours, ref, placement = run_both(model, {"x": x}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-6, atol=1e-6)


# ---- Winograd ------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 20), m=st.integers(1, 20), h=st.integers(1, 21),
       w=st.integers(1, 21), pads=st.lists(st.integers(0, 2), min_size=4, max_size=4),
       bias=st.booleans())  # fmt: skip
def test_winograd_conv_matches_reference(n, c, m, h, w, pads, bias, simd, threads):
    if h + pads[0] + pads[2] < 3 or w + pads[1] + pads[3] < 3:
        return
    before = conv_kernels.WINOGRAD
    conv_kernels.WINOGRAD = "always"
    try:
        rng = np.random.default_rng(h * 31 + w)
        x = rng.standard_normal((n, c, h, w), dtype=np.float32)
        consts = {"w": rng.standard_normal((m, c, 3, 3), dtype=np.float32)}
        if bias:
            consts["b"] = rng.standard_normal(m, dtype=np.float32)
        ours, ref, placement = run_both(one_node("Conv", {"x": x}, consts, pads=pads), {"x": x},
                                        threads)  # fmt: skip
    finally:
        conv_kernels.WINOGRAD = before
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-4, atol=1e-4 * np.sqrt(c))


def test_winograd_is_chosen_for_a_resnet_layer_and_matches(simd, threads):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 64, 28, 28), dtype=np.float32)
    w = rng.standard_normal((64, 64, 3, 3), dtype=np.float32) * 0.05
    prepared = conv_kernels._Conv(Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]}), {1: w})
    assert prepared.use_winograd(64, 64, 28, 28)
    model = one_node("FusedConv", {"x": x}, {"w": w}, domain="gossamer", pads=[1, 1, 1, 1],
                     activation="Relu")  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-4, atol=1e-4)


# ---- activations ---------------------------------------------------------------------------------

ACTIVATIONS = [
    ("Tanh", {}, ""), ("Erf", {}, ""), ("HardSwish", {}, ""), ("LeakyRelu", {"alpha": 0.1}, ""),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, ""), ("Gelu", {"opset": 20}, ""),
    ("Gelu", {"opset": 20, "approximate": "tanh"}, ""), ("Gelu", {}, "gossamer"),
    ("Swish", {"alpha": 1.5}, "gossamer"), ("Swish", {}, "gossamer"),
]  # fmt: skip


def _special(n: int) -> np.ndarray:
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 6
    tail = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 3e38, -3e38, 1e-4],
                    np.float32)  # fmt: skip
    return np.concatenate([x, tail])


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 30000))
def test_activations_match_reference_including_specials(n, simd, threads):
    x = _special(n)
    for op, attrs, domain in ACTIVATIONS:
        attrs = dict(attrs)
        opset = attrs.pop("opset", 17)
        model = one_node(op, {"x": x}, domain=domain, opset=opset, **attrs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the reference's inf * 0
            ours, ref, placement = run_both(model, {"x": x}, threads)
        assert_on_cython(placement)
        assert_close(ours, ref, rtol=4e-6, atol=1e-7)


def test_erf_and_tanh_are_correctly_rounded_on_a_dense_grid(simd):
    x = np.linspace(-12, 12, 100001, dtype=np.float32)
    for op in ("Erf", "Tanh"):
        ours, ref, _ = run_both(one_node(op, {"x": x}), {"x": x}, 1)
        np.testing.assert_array_equal(ours[0], ref[0])


@pytest.mark.parametrize("slope_shape", [(3, 1, 1), (1,), (1, 3, 1, 1), (2, 3, 4, 5), ()])
def test_prelu_matches_reference(slope_shape, simd, threads):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4, 5), dtype=np.float32)
    slope = rng.uniform(0, 0.5, slope_shape).astype(np.float32)
    ours, ref, placement = run_both(one_node("PRelu", {"x": x}, {"s": slope}), {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=0, atol=0)


def test_prelu_with_symbolic_input_and_channel_last_slope(simd):
    rng = np.random.default_rng(7)
    slope = rng.uniform(0, 0.5, (1, 1, 8)).astype(np.float32)  # mtcnn: NHWC slopes
    model = symbolic_model("PRelu", {"x": ["N", "H", 8]}, {"s": slope})
    x = rng.standard_normal((2, 5, 8), dtype=np.float32)
    ours, ref, placement = run_both(model, {"x": x}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=0, atol=0)


@pytest.mark.parametrize(
    "activation, params",
    [("Sigmoid", None), ("HardSigmoid", [0.2, 0.5]), ("HardSwish", None), ("LeakyRelu", [0.1]),
     ("Swish", [1.0]), ("Gelu", None), ("PRelu", None)],
)  # fmt: skip
@pytest.mark.parametrize("depthwise", [False, True])
def test_fused_conv_with_activations_after_the_gemm(activation, params, depthwise, simd, threads):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 8, 10, 10), dtype=np.float32)
    consts = {"w": rng.standard_normal((8, 1 if depthwise else 8, 3, 3), dtype=np.float32),
              "b": rng.standard_normal(8, dtype=np.float32)}  # fmt: skip
    if activation == "PRelu":
        consts["s"] = rng.uniform(0, 0.5, (8, 1, 1)).astype(np.float32)
    attrs = {"activation": activation} | ({"activation_params": params} if params else {})
    model = one_node("FusedConv", {"x": x}, consts, domain="gossamer",
                     group=8 if depthwise else 1, pads=[1, 1, 1, 1], **attrs)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **CONV_TOL)


@pytest.mark.parametrize("rank", [3, 4])
def test_conv_with_weights_given_at_run_time_matches(rank, simd):
    rng = np.random.default_rng(9)
    x_shape, w_shape = ((2, 4, 11), (6, 4, 3)) if rank == 3 else ((1, 4, 9, 8), (6, 4, 3, 3))
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    pads = [1, 1] if rank == 3 else [1, 1, 1, 1]
    model = symbolic_model("Conv", {"x": ["N", 4, "H", "W"][:rank], "w": list(w_shape)},
                           pads=pads)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x, "w": w}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, **CONV_TOL)


def test_winograd_fused_conv_with_prelu_after_the_transform(simd, threads, winograd_always):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((1, 32, 13, 17), dtype=np.float32)
    consts = {"w": rng.standard_normal((24, 32, 3, 3), dtype=np.float32) * 0.1,
              "b": rng.standard_normal(24, dtype=np.float32),
              "s": rng.uniform(0, 0.5, (24, 1, 1)).astype(np.float32)}  # fmt: skip
    model = one_node("FusedConv", {"x": x}, consts, domain="gossamer", pads=[1, 1, 1, 1],
                     activation="PRelu")  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **CONV_TOL)


@pytest.mark.parametrize("mode", ["f4", "f2"])
@pytest.mark.parametrize("n", [1, 2])
def test_winograd_tile_sizes_on_planes_the_threads_split(mode, n, simd, threads):
    before = conv_kernels.WINOGRAD
    conv_kernels.WINOGRAD = mode
    try:
        rng = np.random.default_rng(11)
        x = rng.standard_normal((n, 40, 30, 37), dtype=np.float32)  # 8x10 / 15x19 tiles
        consts = {"w": rng.standard_normal((20, 40, 3, 3), dtype=np.float32) * 0.1,
                  "b": rng.standard_normal(20, dtype=np.float32)}  # fmt: skip
        model = one_node("FusedConv", {"x": x}, consts, domain="gossamer", pads=[1, 0, 1, 2],
                         activation="Clip", activation_params=[-1.0, 1.0])  # fmt: skip
        ours, ref, placement = run_both(model, {"x": x}, threads)
    finally:
        conv_kernels.WINOGRAD = before
    assert_on_cython(placement)
    assert_close(ours, ref, **CONV_TOL)


def test_matmul_with_symbolic_dims_is_claimed_and_bad_shapes_get_the_reference_error():
    from gossamer.refimpl.errors import NodeExecutionError
    from gossamer.refimpl.ir import Graph, Node, Value

    import gossamer

    graph = Graph(
        [Node("MatMul", ["a", "b"], ["y"], name="mm")],
        [Value("a", "float32", ("N", 3)), Value("b", "float32", (None, "K"))],
        [Value("y")],
        opsets={"": 17},
    )
    sess = gossamer.load(graph, backends=["cython"])
    assert sess.placement.backend_of["mm"] == "cython"
    a, b = np.ones((2, 3), np.float32), np.full((3, 5), 2, np.float32)
    np.testing.assert_array_equal(sess.run(None, {"a": a, "b": b})[0], a @ b)
    with pytest.raises(NodeExecutionError, match="MatMul inner dimensions differ") as info:
        sess.run(None, {"a": a, "b": np.ones((4, 5), np.float32)})
    assert "backend 'cython' failed" not in str(info.value)
    assert sess.runtime_fallbacks["mm"][0] == 1
