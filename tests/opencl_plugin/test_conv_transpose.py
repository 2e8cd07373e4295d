"""ConvTranspose on opencl against the reference: groups, strides, pads, output_padding,
output_shape, auto_pad, dilations, 1-D and 2-D, with and without bias."""

from __future__ import annotations

import pytest

from .conftest import check_against_reference
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")


@pytest.mark.parametrize(
    ("x", "w", "attrs"),
    [
        ((1, 4, 5, 6), (4, 6, 3, 3), {}),
        ((2, 3, 7, 5), (3, 9, 2, 2), {"strides": [2, 2]}),  # the usual 2x upsampling
        ((1, 4, 6, 6), (4, 3, 4, 4), {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ((1, 6, 5, 7), (6, 2, 3, 3), {"group": 3, "strides": [3, 2], "output_padding": [1, 1]}),
        ((1, 2, 4, 4), (2, 5, 3, 2), {"dilations": [2, 3], "pads": [0, 2, 1, 0]}),
        ((1, 3, 5, 5), (3, 4, 3, 3), {"strides": [2, 2], "output_shape": [10, 10]}),
        ((1, 3, 5, 5), (3, 2, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        ((1, 3, 5, 5), (3, 2, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
        ((2, 4, 9), (4, 3, 5), {"strides": [3], "pads": [1, 2], "output_padding": [2]}),  # 1-D
        ((1, 16, 3, 3), (16, 16, 1, 1), {"group": 16}),  # depthwise
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose_matches_the_reference(x, w, attrs, bias):
    consts = {"w": rand(*w)}
    if bias:
        consts["b"] = rand(w[1] * attrs.get("group", 1))
    graph, feeds = one_node("ConvTranspose", {"x": rand(*x)}, consts, attrs)
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-5)


def test_conv_transpose_with_runtime_weights_falls_back():
    graph, feeds = one_node("ConvTranspose", {"x": rand(1, 2, 3, 3), "w": rand(2, 2, 3, 3)}, {})
    import gossamer

    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert sess.placement.backend_of["n"] == "reference"
    assert "weights are not constant" in sess.placement.declined["n"]["opencl"]
