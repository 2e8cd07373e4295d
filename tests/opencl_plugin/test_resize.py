"""Resize on opencl against the reference: linear (bilinear) in every coordinate mode, cubic,
antialias, exclude_outside, tf_crop_and_resize's extrapolation, sizes with an aspect policy,
opset 10 and the axes attribute; nearest stays an index map; what it declines."""

from __future__ import annotations

import numpy as np
import pytest

import gossamer

from .conftest import check_against_reference
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")

MODES = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric"]


def resize(x, attrs, *, scales=None, sizes=None, roi=None, opset=19):
    consts = {"roi": np.asarray(roi or [], np.float32), "scales": np.asarray([], np.float32)}
    if scales is not None:
        consts["scales"] = np.asarray(scales, np.float32)
    if sizes is not None:
        consts["sizes"] = np.asarray(sizes, np.int64)
    return one_node("Resize", {"x": rand(*x)}, consts, attrs, opset=opset)


@pytest.mark.parametrize("coords", MODES)
@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 0.6, 1.7], [1, 1, 3, 1]])
def test_linear_resize_matches_the_reference(coords, scales):
    attrs = {"mode": "linear", "coordinate_transformation_mode": coords}
    graph, feeds = resize((2, 3, 5, 7), attrs, scales=scales)
    check_against_reference(graph, feeds)


@pytest.mark.parametrize(
    "attrs",
    [
        {"mode": "cubic"},
        {"mode": "cubic", "exclude_outside": 1, "cubic_coeff_a": -0.5},
        {"mode": "linear", "antialias": 1},
        {"mode": "cubic", "antialias": 1, "coordinate_transformation_mode": "align_corners"},
    ],
)
def test_cubic_and_antialiased_resize_match_the_reference(attrs):
    graph, feeds = resize((1, 2, 9, 8), attrs, scales=[1, 1, 0.5, 1.5])
    check_against_reference(graph, feeds)


def test_tf_crop_and_resize_fills_outside_the_crop():
    attrs = {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}
    attrs["extrapolation_value"] = 7.5
    roi = [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]
    graph, feeds = resize((1, 2, 6, 6), attrs, sizes=[1, 2, 5, 7], roi=roi)
    sess = check_against_reference(graph, feeds)
    assert (sess.run(None, feeds)[0] == 7.5).any()


def test_sizes_with_an_aspect_policy_and_axes():
    attrs = {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": "not_larger"}
    graph, feeds = resize((1, 3, 6, 8), attrs, sizes=[9, 20])
    check_against_reference(graph, feeds)


def test_opset_10_linear_resize_is_asymmetric():
    graph, feeds = one_node(
        "Resize", {"x": rand(1, 1, 4, 5)}, {"s": np.asarray([1, 1, 2, 1.5], np.float32)},
        {"mode": "linear"}, opset=10,
    )  # fmt: skip
    check_against_reference(graph, feeds)


def test_resizing_the_last_axis_of_a_3d_tensor():
    graph, feeds = resize((2, 3, 10), {"mode": "linear"}, scales=[1, 1, 0.7])
    check_against_reference(graph, feeds)


def test_resizing_a_leading_axis_falls_back():
    graph, feeds = resize((2, 3, 4, 4), {"mode": "linear"}, scales=[1, 2, 2, 2])
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert "other than the last two" in sess.placement.declined["n"]["opencl"]
    np.testing.assert_allclose(
        sess.run(None, feeds)[0], gossamer.load(graph, backends=[]).run(None, feeds)[0]
    )
