"""`gossamer explain --backends opencl` shows each node's placement and the fused groups."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("device")


def test_explain_prints_the_fused_elementwise_groups(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from gossamer.cli import main

    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
        helper.make_node("Mul", ["x", "s"], ["m"], name="mul"),
        helper.make_node("Relu", ["m"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["shape"], name="shape"),  # int64: declined
    ]
    model = helper.make_model(
        helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
            [
                helper.make_tensor_value_info("r", TensorProto.FLOAT, None),
                helper.make_tensor_value_info("shape", TensorProto.INT64, None),
            ],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    assert main(["explain", str(path), "--backends", "opencl", "-O", "0"]) == 0
    out = capsys.readouterr().out
    assert "fused element-wise kernels: Sigmoid+Mul+Relu" in out
    assert "no kernel for Shape" in out
