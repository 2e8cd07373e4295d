"""The generated 1x1 convolution (kernels/pointwise.py) and the generated depthwise row kernel
(kernels/depthwise_row.py) against the reference, on shapes that hit each code path: full and
partial channel tiles, full and partial pixel tiles, both tile shapes, batches, every epilogue;
depthwise rows with borders on both sides, strides 1 and 2 (also only vertical), 3x3 / 5x5,
dilation, rows shorter than a vector and longer than a chunk; and both under fp16 storage."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import conv, depthwise_row, pointwise
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .conftest import check_against_reference
from .test_generated_kernels import plan_kernels
from .test_kernels import one_node

pytestmark = pytest.mark.usefixtures("device")
RNG = np.random.default_rng(14)  # its own: drawing from test_kernels' would shift its tests' data


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


POINTWISE = [  # x shape, output channels: the tile it takes, which edges it has
    ((1, 16, 8, 16), 24),  # 6x16 tiles, all full
    ((2, 5, 7, 9), 10),  # 6x16, partial channel and pixel tiles, two images
    ((1, 32, 7, 7), 20),  # 12x8 tiles (49 pixels), partial both ways
    ((1, 24, 4, 6), 8),  # 24 pixels: 6x16 with a partial pixel tile (fewer than 12 channels)
    ((1, 3, 1, 3), 7),  # a plane shorter than one vector
]


@pytest.fixture(params=[False, True], ids=["float8", "float16"])
def wide(request, monkeypatch):
    """Both accumulator widths, whatever this device's native vector width"""
    monkeypatch.setattr(pointwise, "WIDE", request.param)
    return request.param


@pytest.mark.parametrize(("x", "m"), POINTWISE)
def test_generated_pointwise_conv_matches_the_reference(x, m, wide):
    graph, feeds = one_node("Conv", {"x": rand(*x)}, {"w": rand(m, x[1], 1, 1), "b": rand(m)})
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    assert "pointwise (generated)" in plan_kernels(sess)


def test_wide_pointwise_accumulates_in_float16_where_the_tile_has_two_vectors():
    text = pointwise.source(24, 16, 128, 6, 2, True, False, 0, 0, wide=True)
    assert "float16 a0_0 = 0.0f" in text and "LD16(xp, 0)" in text and "a0_0.hi" in text
    narrow = pointwise.source(24, 16, 49, 12, 1, True, False, 0, 0, wide=True)  # one vector
    assert "float16" not in narrow and "float8 a0_0" in narrow
    assert "float16" not in pointwise.source(24, 16, 128, 6, 2, True, False, 0, 0)


def test_pointwise_tile_shape_follows_the_plane():
    assert pointwise.tile(96, 16, 12544) == (6, 2)
    assert pointwise.tile(320, 960, 49) == (12, 1)
    assert pointwise.tile(8, 24, 49) == (6, 2)  # too few channels for 12-channel tiles
    packed = pointwise.pack(np.arange(14, dtype=np.float32).reshape(7, 2), 6)
    assert packed.shape == (2, 2, 6)
    assert packed[1, 1, 0] == 13 and not packed[1, :, 1:].any()  # zero padded channels


def fused_conv(x: tuple, w: tuple, attrs: dict, activation: str) -> tuple[Graph, dict]:
    """FusedConv with bias, a residual and `activation` (PRelu: a per-channel slope)."""
    m = w[0]
    consts = {"w": rand(*w), "b": rand(m)}
    names = ["x", "w", "b", "", "z"]
    if activation == "PRelu":
        consts["slope"] = rand(m, 1, 1)
        names[3] = "slope"
    params = {"activation_params": [-0.5, 0.7]} if activation == "Clip" else {}
    plain = {"w": consts["w"], "b": consts["b"]}
    probe = gossamer.load(one_node("Conv", {"x": rand(*x)}, plain, attrs)[0], backends=[])
    y = probe.run(None, {"x": rand(*x)})[0]
    node = Node(
        "FusedConv",
        names,
        ["y"],
        {**attrs, "activation": activation, **params},
        name="n",
        domain="gossamer",
    )
    graph = Graph(
        nodes=[node],
        inputs=[Value("x", "float32", x), Value("z", "float32", y.shape)],
        outputs=[Value("y")],
        initializers=consts,
        opsets={"": 17, "gossamer": 1},
    )
    return graph, {"x": rand(*x), "z": rand(*y.shape)}


@pytest.mark.parametrize("activation", ["Relu", "Clip", "HardSwish", "Sigmoid", "PRelu"])
@pytest.mark.parametrize(("x", "m"), [((1, 8, 5, 9), 13), ((2, 16, 4, 16), 12)])
def test_pointwise_epilogue_adds_bias_residual_and_activation(activation, x, m, wide):
    graph, feeds = fused_conv(x, (m, x[1], 1, 1), {}, activation)
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    assert "pointwise (generated)" in plan_kernels(sess)


DEPTHWISE = [  # x shape, kernel, attrs
    ((1, 3, 9, 56), 3, {"pads": [1, 1, 1, 1]}),  # borders on both sides of a 7-vector row
    ((1, 4, 8, 21), 3, {"pads": [1, 1, 1, 1]}),  # a partial last vector
    ((2, 3, 11, 23), 3, {"pads": [1, 1, 1, 1], "strides": [2, 2]}),  # stride 2, odd width
    ((1, 2, 10, 24), 3, {"pads": [0, 1, 1, 0], "strides": [2, 2]}),  # stride 2, even, asymmetric
    ((1, 5, 6, 30), 5, {"pads": [2, 2, 2, 2]}),  # 5x5
    ((1, 3, 9, 31), 5, {"pads": [2, 2, 2, 2], "strides": [2, 2]}),  # 5x5 stride 2
    ((1, 3, 9, 20), 3, {"pads": [2, 2, 2, 2], "dilations": [2, 2]}),  # dilated
    ((1, 4, 6, 5), 3, {"pads": [1, 1, 1, 1]}),  # a row shorter than one vector
    ((1, 2, 4, 120), 3, {"pads": [1, 1, 1, 1]}),  # 15 vectors: two chunks
    ((1, 6, 8, 16), 3, {"pads": [1, 1, 1, 1], "strides": [2, 1]}),  # vertical stride only
    ((1, 3, 7, 19), 3, {}),  # no padding
    ((1, 200, 2, 12), 5, {"pads": [2, 2, 2, 2]}),  # planes not a multiple of the local size
]


@pytest.mark.parametrize(("x", "k", "attrs"), DEPTHWISE)
def test_generated_depthwise_rows_match_the_reference(x, k, attrs):
    c = x[1]
    consts = {"w": rand(c, 1, k, k), "b": rand(c)}
    graph, feeds = one_node("Conv", {"x": rand(*x)}, consts, {"group": c, **attrs})
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    assert "depthwise_row (generated)" in plan_kernels(sess)


def test_depthwise_1d_runs_as_rows():
    consts = {"w": rand(4, 1, 5), "b": rand(4)}
    graph, feeds = one_node("Conv", {"x": rand(1, 4, 37)}, consts, {"group": 4, "pads": [2, 2]})
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    assert "depthwise_row (generated)" in plan_kernels(sess)


@pytest.mark.parametrize("activation", ["Relu", "Clip", "HardSwish", "PRelu"])
def test_depthwise_rows_epilogue_adds_bias_residual_and_activation(activation):
    graph, feeds = fused_conv(
        (1, 6, 7, 21), (6, 1, 3, 3), {"group": 6, "pads": [1] * 4}, activation
    )
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    assert "depthwise_row (generated)" in plan_kernels(sess)


def test_depthwise_rows_decline_wide_rows_and_large_strides(monkeypatch):
    assert depthwise_row.eligible(56, 2)
    assert not depthwise_row.eligible(56, 3)
    assert not depthwise_row.eligible(depthwise_row.MAX_OW + 1, 1)
    consts = {"w": rand(2, 1, 3, 3), "b": rand(2)}
    attrs = {"group": 2, "pads": [1] * 4, "strides": [3, 3]}
    graph, feeds = one_node("Conv", {"x": rand(1, 2, 10, 40)}, consts, attrs)
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    assert "depthwise (generated)" in plan_kernels(sess)  # the tile kernel


@pytest.mark.parametrize("rows", [True, False])
def test_switches_choose_between_generated_and_library_kernels(monkeypatch, rows):
    monkeypatch.setattr(conv, "DEPTHWISE_ROWS", rows)
    monkeypatch.setattr(conv, "POINTWISE", rows)
    dw = {"w": rand(4, 1, 3, 3), "b": rand(4)}
    graph, feeds = one_node("Conv", {"x": rand(1, 4, 6, 18)}, dw, {"group": 4, "pads": [1] * 4})
    kinds = plan_kernels(check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5))
    assert ("depthwise_row (generated)" in kinds) == rows
    graph, feeds = one_node("Conv", {"x": rand(1, 4, 6, 18)}, {"w": rand(8, 4, 1, 1)})
    kinds = plan_kernels(check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5))
    assert ("pointwise (generated)" in kinds) == rows


FP16 = {
    "pointwise": ((2, 8, 5, 9), (13, 8, 1, 1), {}),
    "pointwise_12x8": ((1, 16, 7, 7), (14, 16, 1, 1), {}),
    "depthwise_rows": ((1, 4, 9, 21), (4, 1, 3, 3), {"group": 4, "pads": [1] * 4}),
    "depthwise_rows_s2": (
        (1, 4, 9, 23),
        (4, 1, 5, 5),
        {"group": 4, "pads": [2] * 4, "strides": [2, 2]},
    ),
}


@pytest.mark.parametrize("case", sorted(FP16))
def test_fp16_storage_stays_within_the_reviewed_tolerance(case, wide):
    x, w, attrs = FP16[case]
    graph, feeds = fused_conv(x, w, attrs, "Relu")
    for k, v in graph.initializers.items():  # weights half can hold: the inputs' rounding only
        graph.initializers[k] = v.astype(np.float16).astype(np.float32)
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    assert set(sess.placement.backend_of.values()) == {"opencl-fp16"}
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    got = sess.run(None, feeds)[0]
    np.testing.assert_allclose(got, expected, rtol=4e-3, atol=1e-3)
