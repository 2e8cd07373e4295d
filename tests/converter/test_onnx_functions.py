"""Gossamer's own ops export as ONNX model-local functions that onnxruntime runs.

Each case is one gossamer-domain node in a graph: exported, checked by onnx.checker, run by
onnxruntime with its graph optimisations disabled and enabled, and compared with the reference
(float32, rtol 1e-5 and atol 1e-5 on values of order 1: the bodies spell the op in the same
standard ops, so only kernel rounding and Gelu's float64 evaluation in the reference differ).
Read back, each call becomes the gossamer op it was written from.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_export import OnnxExportError, graph_to_onnx
from gossamer.converter.onnx_functions import WRITERS, fused_op_of
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.registry import default_registry
from gossamer.refimpl.shape_inference import infer_shapes

import gossamer

ort = pytest.importorskip("onnxruntime")
F32 = np.float32
LEVELS = {"disabled": "ORT_DISABLE_ALL", "enabled": "ORT_ENABLE_ALL"}


def _graph(node: Node, inputs: dict, consts: dict, opset: int) -> Graph:
    graph = Graph(
        nodes=[node],
        inputs=[Value(k, str(v.dtype), v.shape) for k, v in inputs.items()],
        outputs=[Value(o) for o in node.outputs if o],
        initializers=dict(consts),
        opsets={"": opset, "gossamer": 1},
    )
    values = infer_shapes(graph)
    graph.outputs = [values[v.name] for v in graph.outputs]
    return graph


def _ort_run(model: onnx.ModelProto, feeds: dict, level: str) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, LEVELS[level])
    sess = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _check(node: Node, inputs: dict, consts: dict, opset: int) -> onnx.ModelProto:
    """Exports the one-node graph and checks onnxruntime (graph optimisations disabled, then
    enabled) and the re-import against the reference."""
    graph = _graph(node, inputs, consts, opset)
    expected = gossamer.load(graph, optimize=0).run(None, inputs)
    model = graph_to_onnx(graph)
    onnx.checker.check_model(model, full_check=True)
    assert [(f.domain, fused_op_of(f)) for f in model.functions] == [("gossamer", node.op_type)]
    for level in LEVELS:
        for got, want in zip(_ort_run(model, inputs, level), expected, strict=True):
            assert got.dtype == want.dtype and got.shape == want.shape, level
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=level)
    back = graph_from_onnx(model)
    [read] = back.nodes
    assert (read.domain, read.op_type, read.inputs) == ("gossamer", node.op_type, node.inputs)
    assert read.outputs == node.outputs and read.attrs == _as_float32(node.attrs)
    return model


def _as_float32(attrs: dict) -> dict:
    """The attributes as ONNX stores them: float attributes are float32."""

    def rounded(v: object) -> object:
        if isinstance(v, float):
            return float(np.float32(v))
        return [rounded(x) for x in v] if isinstance(v, list) else v

    return {k: rounded(v) for k, v in attrs.items()}


def _rng_inputs(**shapes: tuple[int, ...]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {k: rng.standard_normal(s).astype(F32) for k, s in shapes.items()}


# activation, activation_params ([] = the op's defaults)
ACTIVATIONS = [
    ("", []),
    ("Relu", []),
    ("Clip", [0.0, 6.0]),
    ("Clip", [-0.5, 0.25]),
    ("Clip", [float("-inf"), 0.5]),
    ("HardSigmoid", [0.3, 0.4]),
    ("HardSwish", []),
    ("Sigmoid", []),
    ("LeakyRelu", [0.2]),
    ("PRelu", []),
    ("Swish", [1.0]),
    ("Swish", [1.702]),
    ("Gelu", []),
]
# opsets on either side of where a body changes: Clip's bounds become inputs at 11, HardSwish
# exists from 14, Gelu from 20
OPSETS = [9, 14, 20]


def _act_attrs(activation: str, params: list[float]) -> dict:
    attrs: dict = {"activation": activation} if activation else {}
    if params:
        attrs["activation_params"] = params
    return attrs


def _id(value: object) -> str:
    return str(value).replace(" ", "")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("activation,params", ACTIVATIONS, ids=_id)
def test_fused_conv_runs_in_onnxruntime_with_every_activation(activation, params, opset):
    rng = np.random.default_rng(1)
    x = _rng_inputs(x=(1, 4, 6, 6))
    consts = {"w": rng.standard_normal((6, 2, 3, 3)).astype(F32), "b": np.arange(6, dtype=F32)}
    inputs = ["x", "w", "b"]
    if activation == "PRelu":
        consts["slope"] = rng.random((6, 1, 1)).astype(F32)
        inputs.append("slope")
    attrs = {"group": 2, "pads": [1, 0, 1, 2], "strides": [2, 1], "dilations": [1, 2]}
    node = Node("FusedConv", inputs, ["y"], attrs | _act_attrs(activation, params), "fc",
                "gossamer")  # fmt: skip
    _check(node, x, consts, opset)


@pytest.mark.parametrize(
    "first,second,residual",
    [("", "", False), ("Relu", "Relu", True), ("Clip", "", True), ("HardSwish", "Clip", False)],
)
def test_fused_conv_pair_runs_in_onnxruntime(first, second, residual):
    rng = np.random.default_rng(3)
    inputs = _rng_inputs(x=(1, 3, 7, 7), **({"z": (1, 4, 4, 4)} if residual else {}))
    consts = {
        "w1": rng.standard_normal((5, 3, 3, 3)).astype(F32),
        "b1": np.arange(5, dtype=F32) / 5,
        "w2": rng.standard_normal((4, 5, 3, 3)).astype(F32),
    }
    params = {"Clip": [-0.5, 1.0]}
    attrs = {"pads": [1, 1, 1, 1], "strides": [2, 2], "second_pads": [1, 1, 1, 1]}
    attrs |= _act_attrs(first, params.get(first, []))
    attrs |= {f"second_{k}": v for k, v in _act_attrs(second, params.get(second, [])).items()}
    z = ["z"] if residual else []
    node = Node("FusedConvPair", ["x", "w1", "b1", "w2", "", *z], ["y"], attrs, "pair",
                "gossamer")  # fmt: skip
    model = _check(node, inputs, consts, 13)
    parts = [first, "Add" if residual else "", second]
    assert model.functions[0].name == "_".join(["FusedConvPair", *filter(None, parts)])


@pytest.mark.parametrize("activation", ["", "Relu", "HardSwish"])
def test_fused_conv_adds_the_residual_before_the_activation(activation):
    inputs = _rng_inputs(x=(1, 3, 5, 5), z=(1, 4, 5, 5))
    consts = {"w": np.random.default_rng(2).standard_normal((4, 3, 3, 3)).astype(F32)}
    node = Node("FusedConv", ["x", "w", "", "", "z"], ["y"],
                {"pads": [1, 1, 1, 1]} | _act_attrs(activation, []), "fc", "gossamer")  # fmt: skip
    model = _check(node, inputs, consts, 13)
    assert model.functions[0].name == "_".join(["FusedConv", "Add", activation]).rstrip("_")


@pytest.mark.parametrize("activation,params", ACTIVATIONS, ids=_id)
def test_fused_gemm_honours_alpha_beta_and_transposes(activation, params):
    rng = np.random.default_rng(3)
    inputs = _rng_inputs(a=(5, 3))
    consts = {"b": rng.standard_normal((4, 5)).astype(F32), "c": rng.standard_normal(4).astype(F32)}
    names = ["a", "b", "c"]
    if activation == "PRelu":
        consts["slope"] = rng.random(4).astype(F32)
        names.append("slope")
    attrs = {"alpha": 0.5, "beta": 2.0, "transA": 1, "transB": 1}
    node = Node("FusedGemm", names, ["y"], attrs | _act_attrs(activation, params), "g", "gossamer")
    _check(node, inputs, consts, 13)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation,params", [("", []), ("Gelu", []), ("LeakyRelu", [0.3])])
def test_fused_matmul_adds_the_bias_and_applies_the_activation(activation, params, bias):
    rng = np.random.default_rng(4)
    inputs = _rng_inputs(a=(2, 3, 8))
    consts = {"b": rng.standard_normal((8, 5)).astype(F32)}
    if bias:
        consts["bias"] = rng.standard_normal(5).astype(F32)
    names = ["a", "b", "bias"] if bias else ["a", "b"]
    node = Node("FusedMatMul", names, ["y"], _act_attrs(activation, params), "mm", "gossamer")
    _check(node, inputs, consts, 17)


@pytest.mark.parametrize("opset", [13, 20])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_runs_in_onnxruntime(approximate, opset):
    node = Node("Gelu", ["x"], ["y"], {"approximate": approximate}, "gelu", "gossamer")
    _check(node, _rng_inputs(x=(3, 7)), {}, opset)


@pytest.mark.parametrize("opset", [13, 14])
def test_hard_swish_runs_in_onnxruntime(opset):
    node = Node("HardSwish", ["x"], ["y"], {}, "hs", "gossamer")
    _check(node, {"x": np.linspace(-5, 5, 41, dtype=F32)}, {}, opset)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_swish_honours_alpha(alpha):
    node = Node("Swish", ["x"], ["y"], {"alpha": alpha}, "sw", "gossamer")
    _check(node, _rng_inputs(x=(2, 9)), {}, 13)


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("axis", [-1, -2, 1])
@pytest.mark.parametrize("outputs", [["y"], ["y", "mean", "inv_std"], ["y", "", "inv_std"]])
def test_layer_normalization_honours_axis_epsilon_and_its_outputs(outputs, axis, opset):
    rng = np.random.default_rng(5)
    inputs = _rng_inputs(x=(2, 3, 4))
    width = (3, 4) if axis in (-2, 1) else (4,)
    consts = {"s": rng.standard_normal(width).astype(F32), "b": rng.standard_normal(width)}
    consts["b"] = consts["b"].astype(F32)
    attrs = {"axis": axis, "epsilon": 0.5}
    node = Node("LayerNormalization", ["x", "s", "b"], outputs, attrs, "ln", "gossamer")
    _check(node, inputs, consts, opset)


def test_layer_normalization_without_bias_runs_in_onnxruntime():
    scale = np.linspace(0.5, 2, 6, dtype=F32)
    node = Node("LayerNormalization", ["x", "s"], ["y"], {"epsilon": 1e-3}, "ln", "gossamer")
    _check(node, _rng_inputs(x=(3, 6)), {"s": scale}, 13)


def test_layer_normalization_in_float16_computes_its_moments_in_float32():
    x = np.random.default_rng(6).standard_normal((2, 8)).astype(np.float16)
    scale = np.ones(8, np.float16)
    node = Node("LayerNormalization", ["x", "s"], ["y"], {}, "ln", "gossamer")
    graph = _graph(node, {"x": x}, {"s": scale}, 13)
    model = graph_to_onnx(graph)
    [got] = _ort_run(model, {"x": x}, "disabled")
    [want] = gossamer.load(graph, optimize=0).run(None, {"x": x})
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(F32), want.astype(F32), rtol=1e-3, atol=1e-3)


def _two_convs(first: dict, second: dict) -> Graph:
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 3, 1, 1)).astype(F32)
    nodes = [
        Node("FusedConv", ["x", "w"], ["h"], first, "c1", "gossamer"),
        Node("FusedConv", ["h", "w"], ["y"], second, "c2", "gossamer"),
    ]
    return Graph(nodes, [Value("x", "float32", (1, 3, 4, 4))], [Value("y", "float32", None)],
                 {"w": w}, opsets={"": 17, "gossamer": 1})  # fmt: skip


def test_nodes_with_the_same_body_share_one_function_and_strides_are_references():
    relu = {"activation": "Relu"}
    model = graph_to_onnx(_two_convs(relu | {"strides": [1, 1]}, relu | {"strides": [2, 2]}))
    assert [f.name for f in model.functions] == ["FusedConv_Relu"]
    conv = model.functions[0].node[0]
    assert {a.name: a.ref_attr_name for a in conv.attribute}["strides"] == "strides"


def test_different_activation_params_get_numbered_functions():
    first = {"activation": "Clip", "activation_params": [0.0, 6.0]}
    second = {"activation": "Clip", "activation_params": [-1.0, 1.0]}
    model = graph_to_onnx(_two_convs(first, second))
    assert [f.name for f in model.functions] == ["FusedConv_Clip", "FusedConv_Clip_2"]
    assert [n.op_type for n in model.graph.node] == ["FusedConv_Clip", "FusedConv_Clip_2"]
    back = graph_from_onnx(model)
    assert [n.op_type for n in back.nodes] == ["FusedConv", "FusedConv"]
    assert [n.attrs for n in back.nodes] == [first, second]


def test_every_gossamer_op_has_an_onnx_function():
    ours = {op for domain, op in default_registry().op_types() if domain == "gossamer"}
    assert ours == set(WRITERS)


def test_a_gossamer_op_without_a_function_is_refused():
    node = Node("NoSuchFusion", ["x"], ["y"], {}, "n", "gossamer")
    with pytest.raises(OnnxExportError, match="no ONNX spelling"):
        graph_to_onnx(_graph(node, {"x": np.zeros(2, F32)}, {}, 17))


def test_a_body_needing_constants_of_an_unknown_type_is_refused():
    graph = _graph(Node("Gelu", ["x"], ["y"], {}, "g", "gossamer"), {}, {}, 13)
    graph.inputs = [Value("x", None, None)]
    with pytest.raises(OnnxExportError, match="element type of its input 'x' is unknown"):
        graph_to_onnx(graph)


def test_other_gossamer_domain_functions_are_still_inlined_on_import():
    from onnx import helper

    body = [helper.make_node("Neg", ["a"], ["b"])]
    fn = helper.make_function("gossamer", "FusedConv_Mine", ["a"], ["b"], body,
                              [helper.make_opsetid("", 17)])  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("FusedConv_Mine", ["x"], ["y"], domain="gossamer")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )  # fmt: skip
    model = helper.make_model(graph, functions=[fn], opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("gossamer", 1)])  # fmt: skip
    assert [n.op_type for n in graph_from_onnx(model).nodes] == ["Neg"]


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("scale,mask", [(0.125, True), (1.0, False)])
def test_packed_attention_runs_in_onnxruntime(scale, mask, opset):
    rng = np.random.default_rng(7)
    inputs = _rng_inputs(qkv=(2, 5, 3 * 2 * 4))
    if mask:
        inputs["mask"] = np.where(rng.random((2, 1, 1, 5)) < 0.3, -1e4, 0).astype(F32)
    names = ["qkv", "mask"] if mask else ["qkv"]
    node = Node("PackedAttention", names, ["y"], {"num_heads": 2, "scale": scale}, "pa", "gossamer")
    _check(node, inputs, {}, opset)
