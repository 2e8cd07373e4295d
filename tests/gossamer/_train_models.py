"""A small trainable CNN built in code for the training tests: Conv -> BatchNorm (opset 15:
training mode during fit, so running statistics change) -> Relu -> [Dropout] -> MaxPool ->
Flatten -> Gemm, on inputs [n, 1, 4, 4] with 3 classes."""

from __future__ import annotations

import numpy as np
from onnx import ModelProto, TensorProto, helper, numpy_helper


def small_cnn(seed: int, *, dropout: bool, fc_bias: bool) -> ModelProto:
    """Without Dropout and with a fixed seed a training run is deterministic."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    inits = [
        numpy_helper.from_array((rng.standard_normal((4, 1, 3, 3)) * 0.4).astype(f32), "conv.w"),
        numpy_helper.from_array(np.ones(4, f32), "bn.scale"),
        numpy_helper.from_array(np.zeros(4, f32), "bn.bias"),
        numpy_helper.from_array(np.zeros(4, f32), "bn.mean"),
        numpy_helper.from_array(np.ones(4, f32), "bn.var"),
        numpy_helper.from_array((rng.standard_normal((3, 16)) * 0.3).astype(f32), "fc.w"),
    ]
    bn_inputs = ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"]
    nodes = [
        helper.make_node("Conv", ["x", "conv.w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", bn_inputs, ["b"], name="bn"),
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
    ]
    pooled = "r"
    if dropout:
        inits.append(numpy_helper.from_array(np.array(0.1, f32), "drop.ratio"))
        nodes.append(helper.make_node("Dropout", ["r", "drop.ratio"], ["dr"], name="drop"))
        pooled = "dr"
    fc_inputs = ["f", "fc.w"]
    if fc_bias:
        inits.append(numpy_helper.from_array(np.zeros(3, f32), "fc.b"))
        fc_inputs.append("fc.b")
    nodes += [
        helper.make_node(
            "MaxPool", [pooled], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"
        ),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", fc_inputs, ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 3])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
