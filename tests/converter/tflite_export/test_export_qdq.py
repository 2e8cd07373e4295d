"""ONNX int8 graphs (QDQ from `gossamer quantize --mode static` and onnxruntime's quantizer) ->
TFLite int8: every int8 tensor LiteRT computes equals Gossamer's run of the exported file
re-imported; weights per output channel, symmetric; biases int32 at x_scale * w_scale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from gossamer.converter.quantization import quantize_static
from gossamer.converter.tflite_export import TFLiteExportError, export_tflite
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.shape_inference import infer_shapes

import gossamer
from gossamer.builtin_models import mobilenet_v2, resnet18, tiny_cnn
from gossamer.session import read_model
from tests.converter.tflite_export.helpers import litert, random_feeds, run_gossamer
from tests.converter.tflite_export.test_export_float_onnx import operators


def _quantised(build, activation_type: str, size: int = 32) -> Graph:
    graph = read_model(build(size=size).SerializeToString())
    rng = np.random.default_rng(0)
    calib = {graph.inputs[0].name: rng.standard_normal((4, 1, 3, size, size)).astype(np.float32)}
    q, _ = quantize_static(graph, calib, activation_type=activation_type, bias_correction=False)
    return q


def _litert_tensors(data: bytes, feeds: dict) -> tuple[dict, list[dict]]:
    it = litert.Interpreter(
        model_content=data,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    details = it.get_tensor_details()
    return {d["name"]: it.get_tensor(d["index"]) for d in details if d["name"]}, details


def assert_int8_exact(data: bytes, feeds: dict) -> int:
    """Every 8-bit activation LiteRT computed equals the re-imported file's on Gossamer; the
    number compared."""
    computed, _ = _litert_tensors(data, feeds)
    again = read_model(data)
    types = infer_shapes(again)
    names = [
        n for n in computed
        if n in types and types[n].dtype in ("int8", "uint8") and n not in again.initializers
        and n not in feeds
    ]  # fmt: skip
    ours = run_gossamer(replace(again, outputs=[types[n] for n in names]), feeds)
    differ = [n for n in names if not np.array_equal(ours[n], computed[n])]
    assert not differ, differ[:5]
    return len(names)


@pytest.mark.parametrize("activation_type", ["int8", "uint8"])
@pytest.mark.parametrize("build", [mobilenet_v2, resnet18])
def test_statically_quantised_networks_run_bit_exactly_as_their_reimported_export(
    build, activation_type
):
    graph = _quantised(build, activation_type)
    data = export_tflite(graph)
    ops = operators(data)
    assert ops["CONV_2D"] >= 17 and ops["QUANTIZE"] == 1 and "TRANSPOSE" in ops
    feeds = random_feeds(graph, np.random.default_rng(1))
    assert assert_int8_exact(data, feeds) >= 30


def test_weights_are_symmetric_per_output_channel_and_biases_at_the_product_scale():
    data = export_tflite(_quantised(mobilenet_v2, "int8"))
    _, details = _litert_tensors(data, random_feeds(read_model(data), np.random.default_rng(0)))
    by_index = {d["index"]: d for d in details}
    it = litert.Interpreter(model_content=data)
    convs = [
        op for op in it._get_ops_details() if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")
    ]
    assert len(convs) == 52
    for op in convs:
        x, w, b = (by_index[i]["quantization_parameters"] for i in op["inputs"][:3])
        assert by_index[op["inputs"][1]]["dtype"] == np.int8
        assert np.all(w["zero_points"] == 0) and len(w["scales"]) > 1  # per channel
        np.testing.assert_allclose(b["scales"], np.float32(x["scales"][0] * w["scales"]))


def test_onnxruntime_quantizer_qdq_models_export_bit_exactly():
    quantization = pytest.importorskip("onnxruntime.quantization")
    import onnx

    model = tiny_cnn(size=32)
    rng = np.random.default_rng(0)
    name = model.graph.input[0].name

    class Reader(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{name: rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}
                               for _ in range(4)])  # fmt: skip

        def get_next(self):
            return next(self.items, None)

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = f"{tmp}/f.onnx", f"{tmp}/q.onnx"
        onnx.save(model, src)
        quantization.quantize_static(src, dst, Reader(), per_channel=True,
                                     quant_format=quantization.QuantFormat.QDQ)  # fmt: skip
        graph = read_model(dst)
    data = export_tflite(graph)
    assert operators(data)["CONV_2D"] >= 3
    feeds = random_feeds(graph, np.random.default_rng(2))
    assert assert_int8_exact(data, feeds) >= 5
    # and the TFLite model still computes the quantised model's function (rounding apart)
    want = gossamer.load(graph, backends=["reference"], optimize=0).run(None, feeds)[0]
    got = litert.Interpreter(model_content=data)
    got.allocate_tensors()
    got.set_tensor(got.get_input_details()[0]["index"], feeds[name])
    got.invoke()
    probs = got.get_tensor(got.get_output_details()[0]["index"])
    assert np.abs(probs - want).max() < 0.05


def test_a_uint8_partition_keeps_uint8_boundaries_and_runs_int8_inside():
    from gossamer.converter.optimizer.qdq_to_qoperator import qdq_to_qoperator
    from gossamer.converter.tflite_export import export_partition
    from gossamer.plugins.partition import extract_partition

    whole = qdq_to_qoperator(_quantised(mobilenet_v2, "uint8"))
    nodes = [n for n in whole.topological_nodes() if n.op_type.startswith("QLinear")][:12]
    part = extract_partition(whole, tuple(n.name for n in nodes), "npu_0")
    data = export_partition(whole, part)
    it = litert.Interpreter(model_content=data)
    boundary = it.get_input_details() + it.get_output_details()
    assert {d["dtype"] for d in boundary} == {np.uint8}
    types = infer_shapes(whole)
    feeds = random_feeds(replace(part, inputs=[types[v.name] for v in part.inputs]),
                         np.random.default_rng(3))  # fmt: skip
    assert assert_int8_exact(data, feeds) >= 10


def _qlinear_conv_graph(w_zero_point: int, group: int = 1) -> Graph:
    rng = np.random.default_rng(0)
    inits = {
        "xs": np.array(0.05, np.float32),
        "xz": np.array(0, np.int8),
        "w": rng.integers(-100, 100, (4, 4 // group, 3, 3)).astype(np.int8),
        "ws": rng.uniform(0.005, 0.02, 4).astype(np.float32),
        "wz": np.full(4, w_zero_point, np.int8),
        "ys": np.array(0.1, np.float32),
        "yz": np.array(0, np.int8),
    }
    conv_inputs = ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    attrs = {"pads": [1, 1, 1, 1], "group": group}
    nodes = [
        Node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q"),
        Node("QLinearConv", conv_inputs, ["yq"], attrs, name="conv"),
        Node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dq"),
    ]
    x, y = Value("x", "float32", (1, 4, 8, 8)), Value("y", "float32", (1, 4, 8, 8))
    return Graph(nodes, [x], [y], inits)


def test_a_grouped_qlinear_conv_is_split_into_one_conv_per_group():
    graph = _qlinear_conv_graph(0, group=2)
    data = export_tflite(graph)
    ops = operators(data)
    assert ops["CONV_2D"] == 2 and ops["SPLIT"] == 1 and ops["CONCATENATION"] == 1
    assert assert_int8_exact(data, random_feeds(graph, np.random.default_rng(1))) >= 2


def test_a_qoperator_graph_exports_and_asymmetric_weights_are_refused_with_the_reason():
    graph = _qlinear_conv_graph(0)
    data = export_tflite(graph)
    assert operators(data)["CONV_2D"] == 1
    assert assert_int8_exact(data, random_feeds(graph, np.random.default_rng(0))) >= 2
    with pytest.raises(TFLiteExportError) as info:
        export_tflite(_qlinear_conv_graph(3))
    assert info.value.unsupported[0]["node"] == "conv"
    assert "asymmetric weights" in str(info.value)


def _qlinear_average_pool_graph(ceil_mode: int) -> Graph:
    inits = {"xs": np.array(0.05, np.float32), "xz": np.array(0, np.int8)}
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": ceil_mode}
    pool_inputs = ["xq", "xs", "xz", "xs", "xz"]
    nodes = [
        Node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q"),
        Node("QLinearAveragePool", pool_inputs, ["yq"], attrs, domain="com.microsoft", name="pool"),
        Node("DequantizeLinear", ["yq", "xs", "xz"], ["y"], name="dq"),
    ]
    x = Value("x", "float32", (1, 3, 6, 7))
    graph = Graph(nodes, [x], [Value("y", "float32", None)], inits)
    graph.outputs[0] = infer_shapes(graph)["y"]
    return graph


def test_a_ceil_mode_qlinear_average_pool_is_refused_naming_the_node():
    graph = _qlinear_average_pool_graph(ceil_mode=1)
    assert graph.outputs[0].shape == (1, 3, 3, 3)  # ONNX's partial last window: 3, not 2
    with pytest.raises(TFLiteExportError) as info:
        export_tflite(graph)
    assert info.value.unsupported[0]["node"] == "pool"
    assert "output [3, 3] where TFLite's pooling gives [2, 3]" in str(info.value)
    assert "ceil_mode=1" in str(info.value)


def test_a_floor_mode_qlinear_average_pool_still_exports_exactly():
    graph = _qlinear_average_pool_graph(ceil_mode=0)
    data = export_tflite(graph)
    assert operators(data)["AVERAGE_POOL_2D"] == 1
    assert assert_int8_exact(data, random_feeds(graph, np.random.default_rng(0))) >= 1
