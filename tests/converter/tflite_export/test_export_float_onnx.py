"""Float ONNX graphs (NCHW) -> TFLite (NHWC builtins): LiteRT's results equal Gossamer's within
float32 accumulation-order noise (rtol 1e-4, atol 1e-5 x the output's magnitude: LiteRT and
Gossamer differ there exactly as much as onnxruntime and Gossamer do)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from gossamer.converter.tflite_export import TFLiteExportError, export_tflite
from gossamer.refimpl.ir import Graph, Node, Value

from gossamer.builtin_models import mobilenet_v2, resnet18
from gossamer.session import read_model
from tests.converter.tflite_export.helpers import random_feeds, run_gossamer, run_litert

MODELS = Path.home() / ".cache" / "gossamer" / "models"


def operators(data: bytes) -> Counter:
    tflite = pytest.importorskip("tflite")
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    codes = [
        model.OperatorCodes(sg.Operators(i).OpcodeIndex()) for i in range(sg.OperatorsLength())
    ]
    return Counter(names[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())] for c in codes)


def assert_close(graph: Graph, data: bytes, seed: int = 0, **feeds_kw) -> None:
    feeds = random_feeds(graph, np.random.default_rng(seed), **feeds_kw)
    want, got = run_gossamer(graph, feeds), run_litert(data, feeds)
    assert list(got) == list(want)
    for name in want:
        scale = max(1.0, float(np.abs(want[name]).max()))
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("build", [mobilenet_v2, resnet18])
def test_image_networks_run_in_litert_as_in_gossamer_with_transposes_only_at_the_input(build):
    graph = read_model(build(size=64).SerializeToString())
    data = export_tflite(graph)
    ops = operators(data)
    assert ops["TRANSPOSE"] == 1  # NCHW input -> NHWC; the [N, C, 1, 1] pool result reshapes
    assert ops["CONV_2D"] >= 17 and "MEAN" in ops and "FULLY_CONNECTED" in ops
    assert_close(graph, data)


def test_nhwc_io_takes_an_nhwc_input_and_writes_no_transpose():
    graph = read_model(mobilenet_v2(size=32).SerializeToString())
    data = export_tflite(graph, nhwc_io=True)
    assert "TRANSPOSE" not in operators(data)
    feeds = random_feeds(graph, np.random.default_rng(2))
    want = run_gossamer(graph, feeds)
    nhwc = {k: v.transpose(0, 2, 3, 1) for k, v in feeds.items()}
    for name, got in run_litert(data, nhwc).items():
        np.testing.assert_allclose(got, want[name], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name, shapes", [
    ("ppocr_mobile_v2_cls", {"x": (1, 3, 48, 192)}),
    ("mtcnn_onet", {"input_3": (1, 48, 48, 3)}),
])  # fmt: skip
def test_shared_real_models_run_in_litert_as_in_gossamer(name, shapes):
    path = MODELS / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not cached")
    graph = read_model(path)
    data = export_tflite(graph, input_shapes=shapes)
    fixed = Graph(graph.nodes, [Value(v.name, v.dtype, shapes[v.name]) for v in graph.inputs],
                  graph.outputs, graph.initializers, graph.name, graph.opsets)  # fmt: skip
    assert_close(fixed, data)


def test_dynamic_image_sizes_are_refused_until_input_shapes_fix_them():
    path = MODELS / "ppocr_mobile_v2_cls.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not cached")
    with pytest.raises(TFLiteExportError, match="dynamic height / width"):
        export_tflite(read_model(path))
    with pytest.raises(TFLiteExportError, match="does not fit"):
        export_tflite(read_model(path), input_shapes={"x": (1, 4, 48, 192)})


def _graph(nodes, inputs, outputs, inits=None, opset=21) -> Graph:
    return Graph(nodes, inputs, outputs, inits or {}, opsets={"": opset})


def _f(*shape):
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


X = Value("x", "float32", (1, 4, 6, 6))


def _conv(name, x, y, cout=4, k=3, **attrs):
    return Node("Conv", [x, f"{name}_w", f"{name}_b"], [y], {"pads": [1, 1, 1, 1], **attrs},
                name=name), {f"{name}_w": _f(cout, 4 // attrs.get("group", 1), k, k),
                             f"{name}_b": _f(cout)}  # fmt: skip


CASES = {
    "resize_nearest_asymmetric": ([Node("Resize", ["x", "", "s"], ["y"], {
        "mode": "nearest", "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor"})], {"s": np.array([1, 1, 2, 2], np.float32)}, (1, 4, 12, 12)),
    "resize_nearest_half_pixel": ([Node("Resize", ["x", "", "s"], ["y"], {"mode": "nearest"})],
                                  {"s": np.array([1, 1, 2, 2], np.float32)}, (1, 4, 12, 12)),
    "resize_linear_align_corners": ([Node("Resize", ["x", "", "", "sz"], ["y"], {
        "mode": "linear", "coordinate_transformation_mode": "align_corners"})],
        {"sz": np.array([1, 4, 9, 11], np.int64)}, (1, 4, 9, 11)),
    "resize_linear_half_pixel": ([Node("Resize", ["x", "", "", "sz"], ["y"], {"mode": "linear"})],
                                 {"sz": np.array([1, 4, 13, 7], np.int64)}, (1, 4, 13, 7)),
    "softmax_over_channels": ([Node("Softmax", ["x"], ["y"], {"axis": 1})], {}, (1, 4, 6, 6)),
    "gemm_untransposed_alpha_beta": ([Node("Flatten", ["x"], ["f"]), Node("Gemm", ["f", "B", "C"],
        ["y"], {"alpha": 0.5, "beta": 2.0})], {"B": _f(144, 5), "C": _f(5)}, (1, 5)),
    "matmul_3d": ([Node("Reshape", ["x", "shape"], ["r"]), Node("MatMul", ["r", "B"], ["y"])],
                  {"shape": np.array([1, 24, 6], np.int64), "B": _f(6, 3)}, (1, 24, 3)),
    "batch_norm_clip_hard_sigmoid": ([
        Node("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"]),
        Node("Clip", ["bn", "lo", "hi"], ["c"]),
        Node("HardSigmoid", ["c"], ["y"], {"alpha": 0.3})],
        {"g": _f(4), "b": _f(4), "m": _f(4), "v": np.abs(_f(4)) + 0.5,
         "lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)}, (1, 4, 6, 6)),
    "prelu_leaky_relu_reduce_mean": ([
        Node("PRelu", ["x", "slope"], ["p"]), Node("LeakyRelu", ["p"], ["l"], {"alpha": 0.1}),
        Node("ReduceMean", ["l", "axes"], ["y"], {"keepdims": 0})],
        {"slope": _f(4, 1, 1), "axes": np.array([1, 3], np.int64)}, (1, 6)),
    "pools_pad_slice_concat": ([
        Node("MaxPool", ["x"], ["mp"], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        Node("AveragePool", ["x"], ["ap"], {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Node("Pad", ["ap", "pads"], ["pp"], {"mode": "reflect"}),
        Node("Slice", ["mp", "st", "en", "ax", "sp"], ["sl"]),
        Node("Concat", ["sl", "pp"], ["y"], {"axis": 1})],
        {"pads": np.array([0, 0, 1, 1, 0, 0, 2, 2], np.int64), "st": np.array([5, 5], np.int64),
         "en": np.array([-100, -100], np.int64), "ax": np.array([2, 3], np.int64),
         "sp": np.array([-1, -1], np.int64)}, (1, 8, 6, 6)),
    "grouped_conv": ([Node("Conv", ["x", "w", "b"], ["y"], {"group": 2, "pads": [1, 0, 1, 2],
        "strides": [1, 2]})], {"w": _f(6, 2, 3, 3), "b": _f(6)}, (1, 6, 6, 3)),
    "conv_transpose_valid": ([Node("ConvTranspose", ["x", "w", "b"], ["y"], {"strides": [2, 2]})],
                             {"w": _f(4, 3, 3, 3), "b": _f(3)}, (1, 3, 13, 13)),
    "conv_transpose_same": ([Node("ConvTranspose", ["x", "w"], ["y"], {"strides": [2, 2],
        "pads": [0, 0, 1, 1]})], {"w": _f(4, 2, 3, 3)}, (1, 2, 12, 12)),
    "conv_transpose_output_padding": ([Node("ConvTranspose", ["x", "w", "b"], ["y"], {
        "strides": [2, 2], "pads": [1, 2, 0, 0], "output_padding": [1, 1]})],
        {"w": _f(4, 2, 3, 3), "b": _f(2)}, (1, 2, 13, 12)),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_single_ops_run_in_litert_as_in_gossamer(case):
    nodes, inits, out_shape = CASES[case]
    graph = _graph(nodes, [X], [Value("y", "float32", out_shape)], inits)
    assert_close(graph, export_tflite(graph))


def test_conv_chains_fuse_relu_and_keep_nhwc_through_concat_and_depthwise():
    c1, w1 = _conv("c1", "x", "a", cout=4)
    c2, w2 = _conv("c2", "r", "b", cout=4, group=4, strides=[2, 2])
    nodes = [c1, Node("Relu", ["a"], ["r"]), c2, Node("Clip", ["b", "lo", "hi"], ["y1"]),
             Node("Concat", ["r", "x"], ["y2"], {"axis": 1})]  # fmt: skip
    inits = {**w1, **w2, "lo": np.array(0, np.float32), "hi": np.array(6, np.float32)}
    outs = [Value("y1", "float32", (1, 4, 3, 3)), Value("y2", "float32", (1, 8, 6, 6))]
    graph = _graph(nodes, [X], outs, inits)
    data = export_tflite(graph)
    ops = operators(data)
    assert "RELU" not in ops and "RELU6" not in ops  # fused into the convolutions
    assert ops["DEPTHWISE_CONV_2D"] == 1 and ops["TRANSPOSE"] == 3  # x in, y1 and y2 out
    assert_close(graph, data)


def test_max_pool_with_ceil_mode_that_tflite_cannot_size_is_refused_with_the_reason():
    node = Node(
        "MaxPool",
        ["x"],
        ["y"],
        {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1},
        name="pool",
    )
    x = Value("x", "float32", (1, 4, 5, 5))
    graph = _graph([node], [x], [Value("y", "float32", (1, 4, 3, 3))])
    with pytest.raises(TFLiteExportError) as info:
        export_tflite(graph)
    assert info.value.unsupported[0]["node"] == "pool"
