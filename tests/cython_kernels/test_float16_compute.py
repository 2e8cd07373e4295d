"""float16 models and float16-stored weights on the float32 kernels: Conv, FusedConv, MatMul and
Gemm claim float16 nodes, compute in float32 from weights converted once, and round to float16."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import gossamer

F16 = np.float16


def _model(nodes, inputs, inits, elem=TensorProto.FLOAT16):  # type: ignore[no-untyped-def]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(k, elem, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", elem, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _run(model: bytes, feeds: dict, optimize: int) -> tuple[np.ndarray, np.ndarray, Any]:
    ours = gossamer.load(model, backends=["cython"], optimize=optimize)
    ref = gossamer.load(model, backends=[], optimize=optimize)
    return ours.run(None, feeds)[0], ref.run(None, feeds)[0], ours


@pytest.mark.parametrize("optimize", [0, 3])
def test_float16_conv_gemm_chain_runs_on_cython(optimize):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(F16)
    g = (rng.standard_normal((8 * 6 * 6, 10)) * 0.05).astype(F16)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("MatMul", ["f", "g"], ["m"]),
        helper.make_node("Gemm", ["m", "h"], ["y"], transB=1),
    ]
    inits = {"w": w, "b": rng.standard_normal(8).astype(F16), "g": g,
             "h": (rng.standard_normal((4, 10)) * 0.3).astype(F16)}  # fmt: skip
    x = rng.standard_normal((1, 3, 12, 12)).astype(F16)
    got, want, sess = _run(_model(nodes, {"x": [1, 3, 12, 12]}, inits), {"x": x}, optimize)
    assert got.dtype == F16 and got.shape == want.shape
    np.testing.assert_allclose(
        got.astype(np.float32), want.astype(np.float32), rtol=2e-2, atol=2e-2
    )
    placed = {n.op_type: sess.placement.backend_of.get(n.name) for n in sess.graph.nodes}
    heavy = [op for op in placed if "Conv" in op or op in ("MatMul", "Gemm")]
    assert heavy and all(placed[op] == "cython" for op in heavy), placed
    assert not sess.runtime_fallbacks


def test_float16_stored_weights_run_on_cython_at_every_level():
    rng = np.random.default_rng(1)
    w16 = rng.standard_normal((4, 2, 3, 3)).astype(F16)
    nodes = [
        helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT),
        helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]),
    ]
    x = rng.standard_normal((1, 2, 7, 7)).astype(np.float32)
    model = _model(nodes, {"x": [1, 2, 7, 7]}, {"w16": w16}, elem=TensorProto.FLOAT)
    for optimize in (0, 3):
        got, want, sess = _run(model, {"x": x}, optimize)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        assert set(sess.placement.backend_of.values()) == {"cython"}
