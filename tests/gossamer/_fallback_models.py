"""Small models built in code for the fallback report: the same network in float64 (which the
cython backend declines) or float32, and an op it has no kernel for."""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

from tests.conftest import make_model, tensor_info

CONV_FLOPS = 2 * (8 * 16 * 16) * (3 * 3 * 3)  # 2 * output elements * (Cin/group * kh * kw)
MATMUL_FLOPS = 2 * 10 * (8 * 16 * 16)
RELU_FLOPS = 8 * 16 * 16


def conv_mlp(dtype=np.float64, batch=1):
    """x[batch, 3, 16, 16] -> Conv 3x3 (8 channels) -> Relu -> Reshape [-1, 2048] -> MatMul -> y."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(dtype), "w"),
        numpy_helper.from_array(rng.standard_normal((8 * 16 * 16, 10)).astype(dtype), "m"),
        numpy_helper.from_array(np.array([-1, 8 * 16 * 16], np.int64), "shape"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "m"], ["y"], name="fc"),
    ]
    model = make_model(
        nodes,
        [tensor_info("x", dtype, [batch, 3, 16, 16])],
        [tensor_info("y", dtype, [batch, 10])],
        weights,
    )
    return model.SerializeToString()


def det_model(batch=1):
    """x float32 [batch, 8, 8] -> Det -> y: an op the cython backend has no kernel for."""
    node = helper.make_node("Det", ["x"], ["y"], name="det")
    model = make_model(
        [node], [tensor_info("x", np.float32, [batch, 8, 8])], [tensor_info("y", np.float32)], []
    )
    return model.SerializeToString()
