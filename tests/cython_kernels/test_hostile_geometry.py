"""Window attributes a hostile model can set (strides, kernels, pads near 2^31 or 2^63) never
reach the C kernels unchecked: each case is either computed as the spec defines it or declined to
the reference, which then answers or raises a typed error. Once these crashed the process (SIGFPE,
SIGSEGV) or hung in C."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.errors import NodeExecutionError, OpArgumentError

import gossamer

from ._helpers import one_node

BIG = 2**63 - 1
X = np.random.default_rng(0).standard_normal((1, 8, 8, 8)).astype(np.float32)


def _both(model: bytes, feeds: dict) -> tuple[np.ndarray, np.ndarray, gossamer.Session]:
    ours = gossamer.load(model, backends=["cython"])
    ref = gossamer.load(model, backends=[])
    return ours.run(None, feeds)[0], ref.run(None, feeds)[0], ours


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2**31, 2**31], "auto_pad": "SAME_UPPER"}),
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [BIG, BIG], "auto_pad": "VALID"}),
        ("AveragePool", {"kernel_shape": [3, 3], "strides": [2**40, 1], "pads": [1, 1, 1, 1]}),
        ("MaxPool", {"kernel_shape": [1, 1], "dilations": [BIG, BIG], "strides": [1, 1]}),
    ],
    ids=["stride-2^31-same", "stride-2^63-valid", "avg-stride-2^40", "dilation-2^63-of-1x1"],
)
def test_one_window_per_axis_ignores_a_huge_stride_or_dilation(op, attrs):
    ours, ref, sess = _both(one_node(op, {"x": X}, **attrs), {"x": X})
    assert sess.placement.backend_of[sess.graph.nodes[0].name] == "cython"
    np.testing.assert_array_equal(ours, ref)


def test_conv_with_a_huge_stride_matches_the_reference():
    w = np.random.default_rng(1).standard_normal((4, 8, 3, 3)).astype(np.float32)
    model = one_node("Conv", {"x": X}, {"w": w}, strides=[2**62, 2**62])
    ours, ref, _ = _both(model, {"x": X})
    assert ours.shape == (1, 4, 1, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backends", [["cython"], []], ids=["cython", "reference"])
def test_kernel_of_2_63_with_same_padding_is_a_typed_error_naming_the_node(backends):
    model = one_node("MaxPool", {"x": X}, kernel_shape=[BIG, BIG], auto_pad="SAME_UPPER")
    sess = gossamer.load(model, backends=backends)
    with pytest.raises(NodeExecutionError, match="MaxPool") as info:
        sess.run(None, {"x": X})
    assert isinstance(info.value.__cause__, OpArgumentError)
    assert "backend 'cython' failed" not in str(info.value)  # the model is at fault, not a kernel


def test_window_with_more_taps_than_the_c_kernels_take_runs_on_the_reference():
    x = np.random.default_rng(2).standard_normal((1, 2, 300, 300)).astype(np.float32)
    model = one_node("MaxPool", {"x": x}, kernel_shape=[300, 300])
    ours, ref, sess = _both(model, {"x": x})
    np.testing.assert_array_equal(ours, ref)
    (calls, reason) = sess.runtime_fallbacks[sess.graph.nodes[0].name]
    assert calls == 1 and "taps" in reason


@pytest.mark.parametrize(
    "call",
    [
        lambda y: ext().pool2d(True, X[0], 2, 2, 2**31, 2**31, 1, 1, 0, 0, None, None, y, 1),
        lambda y: ext().pool2d(True, X[0], 2**62, 2, 1, 1, 1, 1, 0, 0, None, None, y, 1),
        lambda y: ext().pool2d(True, X[0], 2, 2, 1, 1, 1, 1, 2**40, 0, None, None, y, 1),
        lambda y: ext().conv_direct_work(8, 8, 8, 3, 3, 1, 1, 2**33, 1, 0, 0, 1, 1),
    ],
    ids=["poly-stride", "kernel", "pad", "direct-work-dilation"],
)
def test_c_entry_points_refuse_geometry_beyond_their_bounds(call):
    y = np.zeros((8, 1, 1), np.float32)
    with pytest.raises(ValueError, match="must be"):
        call(y)
