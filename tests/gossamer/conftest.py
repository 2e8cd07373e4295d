"""Small models the CLI tests drive: two nodes with a symbolic batch, and the built-in CNN."""

import numpy as np
import pytest
from onnx import helper

from gossamer.builtin_models import tiny_cnn
from tests.conftest import make_model, tensor_info


@pytest.fixture
def model_path(tmp_path):
    """y = relu(x + x), x: float32[N, 4]."""
    model = make_model(
        [
            helper.make_node("Add", ["x", "x"], ["d"], name="double"),
            helper.make_node("Relu", ["d"], ["y"], name="relu"),
        ],
        [tensor_info("x", np.float32, ["N", 4])],
        [tensor_info("y", np.float32, ["N", 4])],
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def cnn_path(tmp_path):
    """The built-in tiny CNN: image float32[batch, 3, 64, 64] -> probabilities [batch, 10]."""
    path = tmp_path / "cnn.onnx"
    path.write_bytes(tiny_cnn().SerializeToString())
    return path
