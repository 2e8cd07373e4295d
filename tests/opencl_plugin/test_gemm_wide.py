"""The GEMM tile in both widths (kernels/gemm.py WIDE): the 6x16 tile in float8 accumulators and
the 8x16 tile in float16 ones (chosen where the device's native float vector width is 16),
whatever this device's width: Gemm with row / column bias, alpha and a residual, partial row and
column tiles (M not a multiple of 6 or 8, N not of 16), the vector and scalar epilogues, batched
MatMul, im2col convolutions, Winograd's batched GEMM over float, and fp16 storage."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import conv, gemm
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .conftest import check_against_reference
from .test_generated_kernels import plan_kernels
from .test_kernels import one_node, rand
from .test_winograd import conv_graph

pytestmark = pytest.mark.usefixtures("device")


@pytest.fixture(params=[False, True], ids=["float8", "float16"])
def wide(request, monkeypatch):
    """Both tiles, whatever this device's native vector width"""
    monkeypatch.setattr(gemm, "WIDE", request.param)
    return request.param


def tile_kernel(base: str, wide: bool) -> str:
    return base.replace("_f32", "_wide_f32") if wide else base


@pytest.mark.parametrize(
    ("a", "b", "attrs", "c"),
    [
        ((7, 40), (33, 40), {"transB": 1, "alpha": 0.5, "beta": 2.0}, (1, 33)),  # column bias
        ((40, 13), (40, 33), {"transA": 1}, (13, 1)),  # row bias, 13 rows: partial tiles
        ((17, 40), (40, 48), {}, (17, 48)),  # full C: the residual path, full column tiles
        ((8, 5), (5, 16), {}, (16,)),  # exactly one 8x16 tile
        ((24, 3), (3, 64), {"alpha": -1.5}, (24, 64)),  # several full tiles, K = 3
    ],
)
def test_gemm_tile_matches_the_reference(a, b, attrs, c, wide):
    graph, feeds = one_node("Gemm", {"a": rand(*a)}, {"b": rand(*b), "c": rand(*c)}, attrs)
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    assert tile_kernel("gemm_f32", wide) in plan_kernels(sess)


@pytest.mark.parametrize(
    ("activation", "n"), [("Relu", 32), ("Relu", 20), ("Sigmoid", 32), ("PRelu", 48)]
)
def test_gemm_tile_epilogue_activations(activation, n, wide):
    # 32 / 48 columns: the vector epilogue (Relu, PRelu); 20: the scalar one; Sigmoid: scalar
    consts = {"b": rand(24, n), "bias": rand(n)}
    names = ["a", "b", "bias"]
    if activation == "PRelu":
        consts["slope"] = rand(n)
        names.append("slope")
    node = Node(
        "FusedMatMul", names, ["y"], {"activation": activation}, name="n", domain="gossamer"
    )
    graph = Graph(
        nodes=[node],
        inputs=[Value("a", "float32", (11, 24))],
        outputs=[Value("y")],
        initializers=consts,
        opsets={"": 17, "gossamer": 1},
    )
    sess = check_against_reference(graph, {"a": rand(11, 24)}, rtol=1e-4, atol=1e-5)
    assert tile_kernel("gemm_f32", wide) in plan_kernels(sess)


@pytest.mark.parametrize(("a", "b"), [((2, 3, 9, 17), (2, 3, 17, 20)), ((5, 17), (4, 17, 9))])
def test_batched_matmul_on_both_tiles(a, b, wide):
    graph, feeds = one_node("MatMul", {"a": rand(*a), "b": rand(*b)}, {})
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    assert tile_kernel("gemm_f32", wide) in plan_kernels(sess)


def test_im2col_convolution_on_both_tiles(wide, monkeypatch):
    monkeypatch.setenv(conv.ENV_ALGORITHM, "im2col")
    graph, feeds = one_node(
        "Conv", {"x": rand(2, 5, 9, 11)}, {"w": rand(19, 5, 3, 3), "b": rand(19)}, {}
    )
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    assert tile_kernel("gemm_f32", wide) in plan_kernels(sess)


@pytest.mark.parametrize("algorithm", ["winograd2", "winograd4"])
@pytest.mark.parametrize(("x", "m"), [((1, 16, 12, 12), 20), ((2, 3, 7, 9), 8)])
def test_winograd_batched_gemm_on_both_tiles(algorithm, x, m, wide, monkeypatch):
    monkeypatch.setenv(conv.ENV_ALGORITHM, algorithm)
    graph, feeds = conv_graph(x, m, [1, 1, 1, 1], {"activation": "Relu"}, residual=True)
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-4)
    assert tile_kernel("gemm_float_f32", wide) in plan_kernels(sess)


def test_gemm_tile_under_fp16_storage(wide):
    def halved(*shape):  # weights half represents exactly: the comparison sees the GEMM's rounding
        return rand(*shape).astype(np.float16).astype(np.float32)

    graph, feeds = one_node("Gemm", {"a": rand(13, 40)}, {"b": halved(40, 36), "c": halved(36)}, {})
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=4e-3, atol=1e-3)
    assert tile_kernel("gemm_f32", wide) in plan_kernels(sess)
