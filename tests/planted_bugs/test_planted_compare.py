"""`gossamer compare` names the Conv with the planted pad bug as the first divergent node, although
the same backend also runs the (correct) Relu and Add after it. The real-model variant of this
check lives in tests/tools/test_compare.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import helper, numpy_helper

from gossamer.cli import main
from tests.conftest import make_model, tensor_info


def conv_relu_add(path):
    """x -> conv (3x3, pads 1) -> relu -> add (bias) -> y."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.standard_normal((1, 3, 1, 1)).astype(np.float32), "bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "bias"], ["y"], name="add"),
    ]
    model = make_model(nodes, [tensor_info("x", np.float32, [1, 2, 6, 6])], [tensor_info("y")],
                       inits)  # fmt: skip
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("backend", ["pad_shift", "pad_bug"])
def test_compare_names_the_conv_as_first_divergence(backend, tmp_path, capsys):
    model = conv_relu_add(tmp_path / "m.onnx")
    rc = main(["compare", str(model), "-O", "0", "--backend", backend, "-o", str(tmp_path / "out"),
               "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert rc == 1 and not report["agrees"]
    first = report["first_divergence"]
    assert (first["node"], first["op_type"], first["ran_on"]) == ("conv", "Conv", backend)
    ran_on = {v["node"]: v["ran_on"] for v in report["values"]}
    assert ran_on == {"conv": backend, "relu": backend, "add": backend}


def test_compare_agrees_for_the_correct_kernels_of_the_same_backend(tmp_path, capsys):
    model = conv_relu_add(tmp_path / "m.onnx")
    # keepdims_bug's only bug is in ReduceSum; in this model it runs Relu and Add (correctly).
    rc = main(["compare", str(model), "-O", "0", "--backend", "keepdims_bug",
               "-o", str(tmp_path / "o"), "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["agrees"] and report["first_divergence"] is None
    assert {v["node"]: v["ran_on"] for v in report["values"]}["relu"] == "keepdims_bug"
