"""The direct convolution, ConvTranspose and linear / cubic Resize under fp16 storage
(`opencl-fp16`): within the reviewed tolerance (conformance/tolerances/opencl-fp16.json) of the
reference run on the half-rounded inputs, and not bit-identical to the fp32 path."""

from __future__ import annotations

import numpy as np
import pytest

import gossamer

from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")

CASES = {
    "conv_direct": ("Conv", (1, 3, 12, 20), {"w": (10, 3, 3, 3), "b": (10,)}, {"pads": [1] * 4}),
    "conv_transpose": (
        "ConvTranspose",
        (1, 4, 5, 6),
        {"w": (4, 3, 3, 3), "b": (3,)},
        {"strides": [2, 2], "output_padding": [1, 0]},
    ),
    "resize_linear": ("Resize", (1, 2, 5, 7), {"roi": (0,), "scales": None}, {"mode": "linear"}),
    "resize_cubic": ("Resize", (1, 2, 5, 7), {"roi": (0,), "scales": None}, {"mode": "cubic"}),
}


def graph_of(case: str) -> tuple:
    op, x, shapes, attrs = CASES[case]
    # weights half can hold (the backend rounds them once at compile): what is compared is the
    # kernels' storage rounding, not the weights' (near-zero outputs failed atol on some draws)
    consts = {
        k: (rand(*s) * 0.3).astype(np.float16).astype(np.float32)
        for k, s in shapes.items()
        if s is not None
    }
    if op == "Resize":
        consts = {"roi": np.zeros(0, np.float32), "scales": np.float32([1, 1, 1.6, 0.7])}
    return one_node(op, {"x": rand(*x)}, consts, attrs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fp16_storage_stays_within_the_reviewed_tolerance(case):
    graph, feeds = graph_of(case)
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    assert set(sess.placement.backend_of.values()) == {"opencl-fp16"}
    half_feeds = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half_feeds)[0]
    got = sess.run(None, feeds)[0]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=4e-3, atol=1e-3)
    fp32 = gossamer.load(graph, backends=["opencl"], optimize=0).run(None, feeds)[0]
    assert not np.array_equal(got, fp32)  # it did round: this is not the fp32 path
