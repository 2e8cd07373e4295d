"""Shape inference of the com.microsoft quantised ops (refimpl/shape_inference MS_RULES)."""

import numpy as np
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl.shape_inference import infer_shapes
from onnx import helper

from tests.conftest import make_model, tensor_info

MS = [helper.make_opsetid("com.microsoft", 1)]


def _infer(node, inputs):
    model = make_model([node], inputs, [helper.make_value_info(o, helper.TypeProto())
                                        for o in node.output], extra_opsets=MS)  # fmt: skip
    return infer_shapes(graph_from_onnx(model))


def test_qgemm_output_is_quantised_with_a_zero_point_else_float():
    ins = [tensor_info(n, d, s) for n, d, s in (
        ("a", np.uint8, [5, "M"]), ("as", np.float32, []), ("az", np.uint8, []),
        ("b", np.int8, [7, 5]), ("bs", np.float32, [7]), ("bz", np.int8, [7]),
        ("ys", np.float32, []), ("yz", np.uint8, []))]  # fmt: skip
    names = ["a", "as", "az", "b", "bs", "bz", "", "ys", "yz"]
    q = helper.make_node("QGemm", names, ["y"], domain="com.microsoft", transA=1, transB=1)
    v = _infer(q, ins)["y"]
    assert (v.dtype, v.shape) == ("uint8", ("M", 7))
    f = helper.make_node("QGemm", names[:6], ["y"], domain="com.microsoft", transA=1, transB=1)
    v = _infer(f, ins[:6])["y"]
    assert (v.dtype, v.shape) == ("float32", ("M", 7))


def test_dynamic_quantize_lstm_takes_the_hidden_size_from_r():
    ins = [tensor_info("x", np.float32, ["T", 3, 9]), tensor_info("w", np.int8, [2, 9, 16]),
           tensor_info("r", np.int8, [2, 4, 16])]  # fmt: skip
    params = [tensor_info(n, d, [2]) for n, d in (("ws", np.float32), ("wz", np.int8),
                                                  ("rs", np.float32), ("rz", np.int8))]  # fmt: skip
    node = helper.make_node("DynamicQuantizeLSTM", ["x", "w", "r", "", "", "", "", "", "ws", "wz",
                            "rs", "rz"], ["y", "yh", "yc"], domain="com.microsoft",
                            direction="bidirectional")  # fmt: skip
    v = _infer(node, ins + params)
    assert v["y"].shape == ("T", 2, 3, 4) and v["yc"].shape == (2, 3, 4)
    assert v["yh"].dtype == "float32"


def test_qlinear_ops_keep_the_input_type_and_shape():
    ins = [tensor_info("x", np.int8, [1, 17, 5, 5]), tensor_info("s", np.float32, []),
           tensor_info("z", np.int8, [])]  # fmt: skip
    node = helper.make_node("QLinearGlobalAveragePool", ["x", "s", "z", "s", "z"], ["y"],
                            domain="com.microsoft", channels_last=0)  # fmt: skip
    v = _infer(node, ins)["y"]
    assert (v.dtype, v.shape) == ("int8", (1, 17, 1, 1))
    node = helper.make_node("QLinearSigmoid", ["x", "s", "z", "s", "z"], ["y"],
                            domain="com.microsoft")  # fmt: skip
    assert _infer(node, ins)["y"].shape == (1, 17, 5, 5)
