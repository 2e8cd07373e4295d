"""Kernels never compute the reference's answer themselves: a call whose run-time shapes or dtypes
fall outside what the C loops take raises RuntimeDecline, the host runs the reference for that
call and counts it in Session.runtime_fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import gossamer


def _model(node, inputs) -> bytes:
    graph = helper.make_graph(
        [node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _run(model: bytes, feeds: dict) -> tuple[np.ndarray, np.ndarray, gossamer.Session]:
    ours = gossamer.load(model, backends=["cython"])
    (want,) = gossamer.load(model, backends=[]).run(None, feeds)
    (got,) = ours.run(None, feeds)
    return got, want, ours


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # the reference's NaN, as numpy's
def test_global_average_pool_over_an_empty_plane_is_declined_to_the_reference():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])
    model = _model(helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap"), [x])
    got, want, sess = _run(model, {"x": np.zeros((1, 3, 0, 4), np.float32)})
    np.testing.assert_array_equal(got, want)
    assert sess.placement.backend_of["gap"] == "cython"
    assert sess.runtime_fallbacks["gap"][0] == 1 and "empty" in sess.runtime_fallbacks["gap"][1]


def test_prelu_slope_the_broadcast_loops_cannot_take_is_declined_to_the_reference():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["A", "B", "C", "D", "E"])
    s = helper.make_tensor_value_info("s", TensorProto.FLOAT, ["F", "G", "H", "I", "J"])
    model = _model(helper.make_node("PRelu", ["x", "s"], ["y"], name="act"), [x, s])
    rng = np.random.default_rng(0)
    feeds = {
        "x": rng.standard_normal((2, 3, 4, 5, 6)).astype(np.float32),
        "s": rng.random((1, 3, 1, 5, 1)).astype(np.float32),  # full / broadcast alternate 5 times
    }
    got, want, sess = _run(model, feeds)
    np.testing.assert_array_equal(got, want)
    assert (
        sess.runtime_fallbacks["act"][0] == 1 and "PRelu slope" in sess.runtime_fallbacks["act"][1]
    )
