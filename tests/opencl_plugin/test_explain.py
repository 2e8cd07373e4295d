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


@pytest.mark.parametrize("arith", ["storage", "native"])
def test_explain_says_how_fp16_computes(tmp_path, capsys, monkeypatch, arith):
    """Under fp16 each partition's note says which arithmetic it uses (native only where the
    default device has cl_khr_fp16)."""
    onnx = pytest.importorskip("onnx")
    from gossamer.opencl_plugin.device import open_device
    from onnx import TensorProto, helper

    from gossamer.cli import main

    if arith == "native" and not open_device().has_fp16:
        pytest.skip("the default OpenCL device has no cl_khr_fp16")
    monkeypatch.setenv("GOSSAMER_OPENCL_FP16_ARITH", arith)
    model = helper.make_model(
        helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"], name="relu")],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    assert main(["explain", str(path), "--backends", "opencl-fp16", "-O", "0"]) == 0
    out = capsys.readouterr().out
    want = {
        "storage": "fp16: half storage, float arithmetic",
        "native": "fp16: half arithmetic in the element-wise kernels, float in reductions",
    }
    assert want[arith] in out
