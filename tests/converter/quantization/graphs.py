"""Small float graphs for the quantiser's unit tests, built with onnx.helper."""

from __future__ import annotations

import numpy as np
from gossamer.converter.onnx_import import graph_from_onnx


def build(nodes, inputs, outputs, initializers, opset=17):
    """A Graph from (op, inputs, outputs, attrs) tuples; inputs/outputs: (name, shape)."""
    from onnx import TensorProto, helper, numpy_helper

    model = helper.make_model(
        helper.make_graph(
            [
                helper.make_node(op, ins, outs, name=f"{op}_{i}", **attrs)
                for i, (op, ins, outs, attrs) in enumerate(nodes)
            ],
            "g",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n, _ in outputs],
            [
                numpy_helper.from_array(np.asarray(v, np.float32), k)
                for k, v in initializers.items()
            ],
        ),
        opset_imports=[helper.make_opsetid("", opset)],
    )
    return graph_from_onnx(model)


def spread_channels(shape, seed=0, decades=2.0):
    """Random (N, C, H, W) samples whose channels' scales (the same for every seed) spread over
    `decades`."""
    x = np.random.default_rng(seed).standard_normal(shape)
    scale = 10 ** np.random.default_rng(1234).uniform(-decades, 0, shape[1])
    return (x * scale[None, :, None, None]).astype(np.float32)
