"""The direct (tiled) convolution kernel and the im2col + GEMM path each against the reference,
whichever the size rule would pick, on the geometries that select their code paths (vector taps
at stride 1 and 2, the clamped gather at the padding, other strides, groups, 1-D, fused
epilogues), and the rule itself."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import conv
from gossamer.refimpl.ir import Node

import gossamer

from .conftest import check_against_reference
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")

GEOMETRIES = [
    ((1, 3, 24, 32), (10, 3, 3, 3), {}),  # stride 1, rows wide enough for vector taps
    ((2, 5, 11, 19), (9, 5, 3, 3), {"pads": [1, 1, 1, 1], "strides": [2, 2]}),  # stride 2
    ((1, 4, 7, 7), (12, 4, 3, 3), {"pads": [1, 1, 1, 1]}),  # rows shorter than a tile: gather
    ((1, 4, 13, 17), (6, 4, 5, 3), {"pads": [2, 0, 1, 2], "strides": [3, 3]}),  # stride 3
    ((1, 6, 9, 9), (15, 2, 3, 3), {"group": 3, "dilations": [2, 1], "pads": [0, 1, 2, 1]}),
    ((2, 8, 30), (17, 8, 5), {"auto_pad": "SAME_LOWER", "strides": [2]}),  # 1-D
    ((1, 3, 10, 10), (4, 3, 1, 1), {"strides": [2, 2]}),  # 1x1 with a stride
]


@pytest.fixture(params=["direct8", "direct16", "im2col"])
def conv_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The direct kernel in both tiles (8 channels in float8 accumulators, 16 in float16 ones,
    whatever this device's native width), and im2col + GEMM"""
    monkeypatch.setattr(conv, "DIRECT", lambda *a: request.param != "im2col")
    monkeypatch.setattr(conv, "DIRECT_WIDE", request.param == "direct16")
    monkeypatch.setattr(conv, "DIRECT_ROWS", False)  # test_conv_row16.py tests the row kernel
    return request.param


@pytest.mark.parametrize(("x", "w", "attrs"), GEOMETRIES)
def test_conv_matches_the_reference_on_both_paths(conv_path, x, w, attrs):
    graph, feeds = one_node("Conv", {"x": rand(*x)}, {"w": rand(*w), "b": rand(w[0])}, attrs)
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    kernels = {k for p in sess_plans(sess) for k in p.kernels}
    direct8 = any(k.startswith("conv_direct_f32") for k in kernels)  # library or generated
    direct16 = any(k.startswith("conv_direct16_f32") for k in kernels)
    assert (direct8, direct16) == (conv_path == "direct8", conv_path == "direct16")


def sess_plans(sess) -> list:
    """The launch plans of a session's opencl partitions."""
    parts = [o.impl for o in sess._program.overrides.values() if o.partition]
    return [plan for part in parts for plan in part.plans()]


@pytest.mark.parametrize("activation", ["Relu", "Clip", "PRelu"])
def test_direct_conv_epilogue_adds_bias_residual_and_activation(conv_path, activation):
    # 19 channels: a full and a partial channel block in both tiles
    consts = {"w": rand(19, 3, 3, 3), "b": rand(19), "slope": rand(19, 1, 1)}
    names = ["x", "w", "b", "slope" if activation == "PRelu" else "", "z"]
    attrs = {"activation": activation, "pads": [1, 1, 1, 1]}
    if activation == "Clip":
        attrs["activation_params"] = [-0.5, 0.5]
    node = Node("FusedConv", names, ["y0"], attrs, name="n", domain="gossamer")
    graph, feeds = one_node("Conv", {"x": rand(2, 3, 9, 12), "z": rand(2, 19, 9, 12)}, consts)
    graph.nodes[0] = node
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


def test_size_rule_takes_direct_for_short_reductions_and_large_images():
    assert conv.direct_wins(3, 32, 9, 112 * 112)  # a stem: K = 27
    assert conv.direct_wins(64, 64, 9, 56 * 56)  # large image
    assert not conv.direct_wins(256, 256, 9, 14 * 14)  # deep and small: GEMM tiles win
    assert not conv.direct_wins(1, 258, 256, 5, stride=128)  # silero's STFT: taps gathered


def test_direct_packing_puts_eight_output_channels_side_by_side():
    w = np.arange(2 * 10 * 3 * 2 * 2, dtype=np.float32).reshape(20, 3, 2, 2)  # G=2, Mg=10
    packed = conv.pack_direct(w, 2)
    assert packed.shape == (2, 2, 2, 2, 3, 8)  # [g][mb][kh][kw][c][8]
    assert packed[1, 1, 0, 1, 2, 1] == w[10 + 8 + 1, 2, 0, 1]
    assert not packed[0, 1, :, :, :, 2:].any()  # channels past Mg are zero


def test_direct_packing_puts_sixteen_output_channels_side_by_side_for_the_wide_tile():
    w = np.arange(2 * 20 * 3 * 2 * 2, dtype=np.float32).reshape(40, 3, 2, 2)  # G=2, Mg=20
    packed = conv.pack_direct(w, 2, 16)
    assert packed.shape == (2, 2, 2, 2, 3, 16)  # [g][mb][kh][kw][c][16]
    assert packed[1, 1, 0, 1, 2, 3] == w[20 + 16 + 3, 2, 0, 1]
    assert not packed[0, 1, :, :, :, 4:].any()  # channels past Mg are zero


@pytest.mark.parametrize("wide", [False, True], ids=["direct8", "direct16"])
def test_direct_conv_under_fp16_storage_stays_within_the_reviewed_tolerance(wide, monkeypatch):
    monkeypatch.setattr(conv, "DIRECT", lambda *a: True)
    monkeypatch.setattr(conv, "DIRECT_WIDE", wide)
    monkeypatch.setattr(conv, "DIRECT_ROWS", False)
    weights = {"w": rand(19, 5, 3, 3).astype(np.float16).astype(np.float32), "b": rand(19)}
    graph, feeds = one_node("Conv", {"x": rand(1, 5, 11, 13)}, weights, {"pads": [1, 1, 1, 1]})
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    kernels = {k for p in sess_plans(sess) for k in p.kernels}
    assert any(k.startswith("conv_direct16_f32" if wide else "conv_direct_f32") for k in kernels)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=4e-3, atol=1e-3)
