"""Small models the cropper tests crop and load (written with onnx.helper)."""

from pathlib import Path

import numpy as np
from onnx import helper, numpy_helper

from tests.conftest import make_model, tensor_info


def save(model, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def add_relu(path: Path) -> Path:
    """y = relu(x + b): element-wise ops only."""
    b = numpy_helper.from_array(np.linspace(-1, 1, 8).astype(np.float32), "b")
    nodes = [
        helper.make_node("Add", ["x", "b"], ["t"], name="add"),
        helper.make_node("Relu", ["t"], ["y"], name="relu"),
    ]
    io = ([tensor_info("x", np.float32, ["N", 8])], [tensor_info("y", np.float32, ["N", 8])])
    return save(make_model(nodes, *io, [b]), path)


def matmul(path: Path) -> Path:
    """y = x @ w: an op (MatMul) the add_relu crop leaves out."""
    w = numpy_helper.from_array(np.eye(8, dtype=np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    io = ([tensor_info("x", np.float32, [2, 8])], [tensor_info("y", np.float32, [2, 8])])
    return save(make_model(nodes, *io, [w]), path)


def conv_relu(path: Path) -> Path:
    """y = relu(conv(x, w) + bias): the optimiser fuses it into gossamer::FusedConv."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32) / 27, "w")
    bias = numpy_helper.from_array(np.zeros(4, np.float32), "bias")
    nodes = [
        helper.make_node("Conv", ["x", "w", "bias"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"], name="relu"),
    ]
    io = (
        [tensor_info("x", np.float32, [1, 3, 8, 8])],
        [tensor_info("y", np.float32, [1, 4, 8, 8])],
    )
    return save(make_model(nodes, *io, [w, bias]), path)
