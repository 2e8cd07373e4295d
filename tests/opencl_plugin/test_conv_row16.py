"""The direct convolution with a whole row of under 16 outputs a work-item (conv_row16_f32,
kernels/conv.py DIRECT_ROWS): bit for bit the 8-pixel tile kernel's results (the same sums in
the same order) and the reference's within the backend's tolerance, on mtcnn's rows (9, 3, 10
outputs) and on padding, stride 2, dilation, groups, 1-D, partial channel blocks, fused
epilogues and fp16 storage; rows whose last 8-pixel tile is over half used, and rows of 16+
outputs, keep the tiles."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import conv
from gossamer.refimpl.ir import Node

import gossamer

from .conftest import check_against_reference
from .test_conv_direct import sess_plans
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")

GEOMETRIES = [
    ((2, 28, 11, 11), (48, 28, 3, 3), {}),  # mtcnn_rnet: 9 outputs a row
    ((2, 48, 4, 4), (64, 48, 2, 2), {}),  # rnet: 3
    ((1, 3, 12, 12), (10, 3, 3, 3), {}),  # pnet: 10
    ((2, 5, 11, 19), (9, 5, 3, 3), {"pads": [1, 1, 1, 1], "strides": [2, 2]}),  # stride 2
    ((1, 4, 7, 4), (20, 4, 3, 3), {"pads": [1, 1, 1, 1]}),  # padding on both sides
    ((1, 6, 9, 9), (15, 2, 3, 3), {"group": 3, "dilations": [2, 1], "pads": [0, 1, 2, 1]}),
    ((2, 8, 20), (17, 8, 5), {"auto_pad": "SAME_LOWER", "strides": [2]}),  # 1-D: 10 outputs
    ((1, 3, 6, 14), (33, 3, 3, 3), {}),  # 12 outputs, three channel blocks
]


@pytest.fixture
def direct16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv, "DIRECT", lambda *a: True)
    monkeypatch.setattr(conv, "DIRECT_WIDE", True)


def kernels_of(sess) -> set[str]:
    return {k for p in sess_plans(sess) for k in p.kernels}


@pytest.mark.parametrize(("x", "w", "attrs"), GEOMETRIES)
def test_rows_match_the_tiles_and_the_reference(direct16, monkeypatch, x, w, attrs):
    graph, feeds = one_node("Conv", {"x": rand(*x)}, {"w": rand(*w), "b": rand(w[0])}, attrs)
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    assert any(k.startswith("conv_row16_f32") for k in kernels_of(sess))
    monkeypatch.setattr(conv, "DIRECT_ROWS", False)
    tiles = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert not any(k.startswith("conv_row16_f32") for k in kernels_of(tiles))
    np.testing.assert_array_equal(sess.run(None, feeds)[0], tiles.run(None, feeds)[0])


@pytest.mark.parametrize("width", [9, 10, 16, 18, 40])
def test_rows_that_fill_their_last_tile_over_half_keep_the_tiles(direct16, width):
    """7, 8, 14, 16 and 38 outputs"""
    graph, feeds = one_node("Conv", {"x": rand(1, 3, 5, width)}, {"w": rand(8, 3, 3, 3)})
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    kinds = kernels_of(sess)
    assert any(k.startswith("conv_direct16_f32") for k in kinds)
    assert not any(k.startswith("conv_row16_f32") for k in kinds)


@pytest.mark.parametrize("activation", ["Relu", "Clip", "PRelu"])
def test_row_epilogue_adds_bias_residual_and_activation(direct16, activation):
    consts = {"w": rand(19, 3, 3, 3), "b": rand(19), "slope": rand(19, 1, 1)}
    names = ["x", "w", "b", "slope" if activation == "PRelu" else "", "z"]
    attrs = {"activation": activation}
    if activation == "Clip":
        attrs["activation_params"] = [-0.5, 0.5]
    node = Node("FusedConv", names, ["y0"], attrs, name="n", domain="gossamer")
    graph, feeds = one_node("Conv", {"x": rand(2, 3, 9, 11), "z": rand(2, 19, 7, 9)}, consts)
    graph.nodes[0] = node
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)
    assert any(k.startswith("conv_row16_f32") for k in kernels_of(sess))


def test_rows_under_fp16_storage_stay_within_the_reviewed_tolerance(direct16):
    weights = {"w": rand(19, 5, 3, 3).astype(np.float16).astype(np.float32), "b": rand(19)}
    graph, feeds = one_node("Conv", {"x": rand(1, 5, 11, 11)}, weights, {"pads": [1, 1, 1, 1]})
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    assert any(k.startswith("conv_row16_f32") for k in kernels_of(sess))
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=4e-3, atol=1e-3)
