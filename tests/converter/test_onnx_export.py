"""Gossamer IR -> ONNX export, and the `gossamer export` / `gossamer view` commands.

The round trip ONNX -> Graph -> ONNX must keep semantics: both models run in onnxruntime (and the
exported one in gossamer) on the same inputs and agree.
"""

import sys
import types

import ml_dtypes
import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_export import OnnxExportError, graph_to_onnx
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl.errors import GossamerError
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import save_gsm
from onnx import AttributeProto, TensorProto, helper, numpy_helper

import gossamer
from gossamer.cli import main
from gossamer.commands.inputs import random_input
from tests.conftest import ONNX_MODELS, make_model, tensor_info

ort = pytest.importorskip("onnxruntime")


def _ort(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _round_trip(model, full_check=True):
    exported = graph_to_onnx(graph_from_onnx(model))
    onnx.checker.check_model(exported, full_check=full_check)
    return exported


def _assert_same_results(model, feeds, rtol=1e-6, atol=1e-6):
    exported = _round_trip(model)
    expected = _ort(model).run(None, feeds)
    for name, outputs in [
        ("onnxruntime", _ort(exported).run(None, feeds)),
        ("gossamer", gossamer.load(exported.SerializeToString()).run(None, feeds)),
    ]:
        assert len(outputs) == len(expected), name
        for got, want in zip(outputs, expected):
            assert np.asarray(got).dtype == np.asarray(want).dtype, name
            if np.asarray(want).dtype == object:
                assert np.asarray(got).tolist() == np.asarray(want).tolist(), name
            else:
                np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
    return exported


def _attr(model, op_type, name):
    node = next(n for n in model.graph.node if n.op_type == op_type)
    return next(a for a in node.attribute if a.name == name)


# ---- round trips of small models -----------------------------------------------------------------
def test_conv_relu_gemm_round_trip_gives_same_outputs():
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    g = numpy_helper.from_array(rng.standard_normal((5, 4 * 4 * 4)).astype(np.float32), "g")
    model = make_model(
        [
            helper.make_node(
                "Conv",
                ["x", "w", "b"],
                ["c"],
                name="conv",
                pads=[1, 1, 1, 1],
                strides=[2, 2],
                kernel_shape=[3, 3],
            ),  # fmt: skip
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
            helper.make_node("Flatten", ["r"], ["f"], name="flat", axis=1),
            helper.make_node("Gemm", ["f", "g"], ["y"], name="gemm", transB=1, alpha=0.5),
        ],
        [tensor_info("x", np.float32, ["N", 3, 8, 8])],
        [tensor_info("y", np.float32, ["N", 5])],
        [w, b, g],
    )
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    exported = _assert_same_results(model, {"x": x}, rtol=1e-5, atol=1e-5)
    assert [n.name for n in exported.graph.node] == ["conv", "relu", "flat", "gemm"]
    assert _attr(exported, "Gemm", "alpha").type == AttributeProto.FLOAT
    assert list(_attr(exported, "Conv", "pads").ints) == [1, 1, 1, 1]
    assert exported.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"


def test_if_with_outer_scope_references_round_trips():
    then_body = helper.make_graph(
        [helper.make_node("Add", ["x", "bias"], ["t"], name="then_add")],
        "then", [], [tensor_info("t", np.float32, [2])],
    )  # fmt: skip
    else_body = helper.make_graph(
        [helper.make_node("Mul", ["x", "x"], ["e"], name="else_mul")],
        "else", [], [tensor_info("e", np.float32, [2])],
    )  # fmt: skip
    model = make_model(
        [
            helper.make_node(
                "If", ["cond"], ["y"], name="if", then_branch=then_body, else_branch=else_body
            )
        ],  # fmt: skip
        [tensor_info("cond", np.bool_, []), tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
        [numpy_helper.from_array(np.array([10, 20], np.float32), "bias")],
    )
    x = np.array([1.5, -2], np.float32)
    for cond in (True, False):
        exported = _assert_same_results(model, {"cond": np.array(cond), "x": x})
    branch = _attr(exported, "If", "then_branch")
    assert branch.type == AttributeProto.GRAPH
    assert list(branch.g.node[0].input) == ["x", "bias"]


def test_loop_round_trips():
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "step"], ["acc_out"]),
            helper.make_node("Cast", ["i"], ["i_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["acc_out", "i_f"], ["scan_out"]),
        ],
        "body",
        [
            tensor_info("i", np.int64, []),
            tensor_info("cond_in", np.bool_, []),
            tensor_info("acc_in", np.float32, [2]),
        ],  # fmt: skip
        [
            tensor_info("cond_out", np.bool_, []),
            tensor_info("acc_out", np.float32, [2]),
            tensor_info("scan_out", np.float32, [2]),
        ],  # fmt: skip
    )
    model = make_model(
        [helper.make_node("Loop", ["n", "", "acc0"], ["acc", "scans"], name="loop", body=body)],
        [
            tensor_info("n", np.int64, []),
            tensor_info("acc0", np.float32, [2]),
            tensor_info("step", np.float32, [2]),
        ],  # fmt: skip
        [tensor_info("acc", np.float32, [2]), tensor_info("scans", np.float32, [None, 2])],
    )
    feeds = {
        "n": np.array(4, np.int64),
        "acc0": np.array([0, 1], np.float32),
        "step": np.array([1, -1], np.float32),
    }
    _assert_same_results(model, feeds)


def test_untyped_loop_body_values_stay_untyped():
    untyped = [helper.make_value_info(n, onnx.TypeProto()) for n in ("i", "c", "a", "co", "ao")]
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["co"]), helper.make_node("Add", ["a", "a"], ["ao"])],
        "body", untyped[:3], untyped[3:],
    )  # fmt: skip
    model = make_model(
        [helper.make_node("Loop", ["n", "", "x"], ["y"], name="loop", body=body)],
        [tensor_info("n", np.int64, []), tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
    )
    exported = _round_trip(model, full_check=False)  # strict inference wants typed inputs
    assert not _attr(exported, "Loop", "body").g.input[0].HasField("type")
    # onnxruntime refuses untyped body inputs (the original too): compare gossamer on both
    feeds = {"n": np.array(3), "x": np.ones(2, np.float32)}
    (want,) = gossamer.load(model.SerializeToString()).run(None, feeds)
    (got,) = gossamer.load(exported.SerializeToString()).run(None, feeds)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, [8, 8])


def test_string_initializer_round_trips():
    model = make_model(
        [helper.make_node("Concat", ["s", "words"], ["y"], name="cat", axis=0)],
        [tensor_info("s", object, [None])],
        [tensor_info("y", object, [None])],
        [numpy_helper.from_array(np.array(["héllo", "", "wörld"], dtype=object), "words")],
    )
    exported = _assert_same_results(model, {"s": np.array(["a", "b"], dtype=object)})
    assert exported.graph.initializer[0].data_type == TensorProto.STRING
    assert list(exported.graph.initializer[0].string_data) == [
        "héllo".encode(),
        b"",
        "wörld".encode(),
    ]


def test_bfloat16_initializer_round_trips():
    weights = np.array([1.5, -2.25, 3e5, 0.1], dtype=ml_dtypes.bfloat16)
    model = make_model(
        [
            helper.make_node("Cast", ["w"], ["wf"], name="cast", to=TensorProto.FLOAT),
            helper.make_node("Add", ["x", "wf"], ["y"], name="add"),
        ],
        [tensor_info("x", np.float32, [4])],
        [tensor_info("y", np.float32, [4])],
        [numpy_helper.from_array(weights, "w")],
    )
    exported = _assert_same_results(model, {"x": np.arange(4, dtype=np.float32)})
    assert exported.graph.initializer[0].data_type == TensorProto.BFLOAT16
    np.testing.assert_array_equal(numpy_helper.to_array(exported.graph.initializer[0]), weights)


def test_float8_and_int4_initializers_keep_values_and_raise_the_ir_version():
    f8 = np.array([0.5, -1.0, 448.0], dtype=ml_dtypes.float8_e4m3fn)
    i4 = np.array([[-8, 7, 0], [1, 2, 3]], dtype=ml_dtypes.int4)
    graph = Graph(
        nodes=[Node("Identity", ["f8"], ["a"], name="id1"), Node("Identity", ["i4"], ["b"])],
        inputs=[],
        outputs=[Value("a", "float8_e4m3fn", (3,)), Value("b", "int4", (2, 3))],
        initializers={"f8": f8, "i4": i4},
    )
    exported = graph_to_onnx(graph)
    onnx.checker.check_model(exported)
    assert exported.ir_version >= 10
    got = {t.name: numpy_helper.to_array(t) for t in exported.graph.initializer}
    assert got["f8"].dtype == f8.dtype and got["i4"].dtype == i4.dtype
    np.testing.assert_array_equal(got["f8"].astype(np.float32), f8.astype(np.float32))
    np.testing.assert_array_equal(got["i4"].astype(np.int8), i4.astype(np.int8))
    assert exported.graph.output[1].type.tensor_type.elem_type == TensorProto.INT4


def test_empty_list_attribute_takes_its_type_from_the_op_schema():
    graph = Graph(
        nodes=[Node("Constant", [], ["y"], {"value_floats": []}, name="const")],
        inputs=[],
        outputs=[Value("y", "float32", (0,))],
        opsets={"": 17},
    )
    exported = graph_to_onnx(graph)
    assert _attr(exported, "Constant", "value_floats").type == AttributeProto.FLOATS
    (y,) = _ort(exported).run(None, {})
    assert y.dtype == np.float32 and y.shape == (0,)


def test_empty_list_attribute_of_unknown_op_defaults_to_ints():
    graph = Graph(
        nodes=[Node("Mystery", ["x"], ["y"], {"sizes": []}, domain="example.custom")],
        inputs=[Value("x", "float32", (1,))],
        outputs=[Value("y", "float32", (1,))],
        opsets={"": 17, "example.custom": 1},
    )
    exported = graph_to_onnx(graph)
    assert _attr(exported, "Mystery", "sizes").type == AttributeProto.INTS
    assert {(o.domain, o.version) for o in exported.opset_import} == {
        ("", 17),
        ("example.custom", 1),
    }


def test_int_attribute_where_the_schema_wants_a_float_becomes_a_float():
    graph = Graph(
        nodes=[Node("LeakyRelu", ["x"], ["y"], {"alpha": 2}, name="leaky")],
        inputs=[Value("x", "float32", (3,))],
        outputs=[Value("y", "float32", (3,))],
        opsets={"": 17},
    )
    exported = graph_to_onnx(graph)
    assert _attr(exported, "LeakyRelu", "alpha").type == AttributeProto.FLOAT
    (y,) = _ort(exported).run(None, {"x": np.array([-1, 0, 3], np.float32)})
    np.testing.assert_array_equal(y, [-2, 0, 3])


def test_type_proto_attribute_round_trips():
    model = make_model(
        [
            helper.make_node(
                "Optional",
                [],
                ["o"],
                name="none",
                type=helper.make_tensor_type_proto(TensorProto.FLOAT, None),
            ),  # fmt: skip
            helper.make_node("OptionalHasElement", ["o"], ["y"], name="has"),
        ],
        [],
        [tensor_info("y", np.bool_, [])],
        opset=18,
    )
    exported = _assert_same_results(model, {})
    attr = _attr(exported, "Optional", "type")
    assert attr.type == AttributeProto.TYPE_PROTO
    assert attr.tp.tensor_type.elem_type == TensorProto.FLOAT


def test_sparse_constant_round_trips_as_a_sparse_attribute():
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.array([5, -7], np.float32), "v"),
        numpy_helper.from_array(np.array([1, 4], np.int64), "i"),
        [2, 3],
    )
    model = make_model(
        [
            helper.make_node("Constant", [], ["c"], name="const", sparse_value=sparse),
            helper.make_node("Add", ["x", "c"], ["y"], name="add"),
        ],
        [tensor_info("x", np.float32, [2, 3])],
        [tensor_info("y", np.float32, [2, 3])],
    )
    exported = _assert_same_results(model, {"x": np.ones((2, 3), np.float32)})
    assert _attr(exported, "Constant", "sparse_value").type == AttributeProto.SPARSE_TENSOR


def test_sequence_and_optional_values_and_dims_round_trip():
    model = make_model(
        [
            helper.make_node("SequenceConstruct", ["a", "b"], ["seq"], name="make"),
            helper.make_node("Identity", ["maybe"], ["same"], name="pass"),
        ],
        [
            tensor_info("a", np.float32, ["N", 2]),
            tensor_info("b", np.float32, [None, 2]),
            helper.make_value_info(
                "maybe",
                helper.make_optional_type_proto(
                    helper.make_tensor_type_proto(TensorProto.INT64, [3])
                ),
            ),
        ],
        [
            helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, None),
            helper.make_value_info(
                "same",
                helper.make_optional_type_proto(
                    helper.make_tensor_type_proto(TensorProto.INT64, [3])
                ),
            ),
        ],
        opset=18,
    )
    exported = _round_trip(model)
    for before, after in zip(
        list(model.graph.input) + list(model.graph.output),
        list(exported.graph.input) + list(exported.graph.output),
    ):
        assert before == after
    feeds = {
        "a": np.ones((1, 2), np.float32),
        "b": np.zeros((3, 2), np.float32),
        "maybe": np.array([1, 2, 3], np.int64),
    }
    seq, same = _ort(exported).run(None, feeds)
    assert [s.shape for s in seq] == [(1, 2), (3, 2)]
    np.testing.assert_array_equal(same, [1, 2, 3])


def test_metadata_names_and_opsets_round_trip():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], name="r")],
        [tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
        extra_opsets=[helper.make_opsetid("ai.onnx.ml", 3)],
    )
    model.graph.name = "tiny"
    helper.set_model_props(model, {"author": "me", "license": "MIT"})
    exported = _round_trip(model)
    assert exported.graph.name == "tiny"
    assert {p.key: p.value for p in exported.metadata_props} == {"author": "me", "license": "MIT"}
    assert {(o.domain, o.version) for o in exported.opset_import} == {("", 17), ("ai.onnx.ml", 3)}
    assert exported.producer_name == "gossamer"


# ---- refusals -----------------------------------------------------------------------------------
def _partition_graph(nested: bool) -> Graph:
    fused = Node("Partition", ["x"], ["y"], name="part0", domain="gossamer.partition")
    if not nested:
        return Graph([fused], [Value("x", "float32", (1,))], [Value("y", "float32", (1,))])
    body = Graph([fused], [], [Value("y", "float32", (1,))], name="then")
    node = Node("If", ["c"], ["z"], {"then_branch": body, "else_branch": body}, name="if")
    return Graph([node], [Value("c", "bool", ()), Value("x", "float32", (1,))], [Value("z")])


@pytest.mark.parametrize("nested", [False, True])
def test_fused_partition_node_is_refused_with_a_typed_error(nested):
    with pytest.raises(OnnxExportError, match="part0.*fused partition.*cannot be exported"):
        graph_to_onnx(_partition_graph(nested))
    assert issubclass(OnnxExportError, GossamerError)


def test_attribute_of_unknown_python_type_is_refused():
    graph = Graph(
        [Node("Relu", ["x"], ["y"], {"weird": {"a": 1}}, name="r")],
        [Value("x", "float32", (1,))],
        [Value("y", "float32", (1,))],
    )
    with pytest.raises(OnnxExportError, match="r \\(Relu\\): attribute 'weird' holds a dict"):
        graph_to_onnx(graph)


def test_nodes_are_written_in_topological_order():
    graph = Graph(
        [Node("Neg", ["h"], ["y"], name="second"), Node("Relu", ["x"], ["h"], name="first")],
        [Value("x", "float32", (2,))],
        [Value("y", "float32", (2,))],
    )
    model = graph_to_onnx(graph)
    onnx.checker.check_model(model)
    assert [n.name for n in model.graph.node] == ["first", "second"]


def test_a_cycle_is_refused_with_a_typed_error():
    graph = Graph(
        [Node("Neg", ["b"], ["a"], name="n1"), Node("Neg", ["a"], ["b"], name="n2")],
        [],
        [Value("a", "float32", (2,))],
    )
    with pytest.raises(OnnxExportError):
        graph_to_onnx(graph)


# ---- the shared real models ---------------------------------------------------------------------
REAL_SHAPES = {
    "mtcnn_pnet.onnx": {"input_1": (1, 24, 32, 3)},
    "nudenet_320n_yolov8n.onnx": {"images": (1, 3, 320, 320)},
    "ppocr_mobile_v2_cls.onnx": {"x": (1, 3, 48, 192)},
    "ppocrv4_rec.onnx": {"x": (1, 3, 48, 320)},
    "silero_vad_v6_16k_sequence.onnx": {"input": (4, 576)},
    "minilm_l6_int8.onnx": {n: (1, 16) for n in ("input_ids", "attention_mask", "token_type_ids")},
}


@pytest.mark.models
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_model_round_trip_gives_same_outputs(models_dir, name):
    path = models_dir / name
    if not path.exists():
        pytest.skip(f"{name} is not in {models_dir}")
    model = onnx.load(str(path))
    graph = graph_from_onnx(model)
    rng = np.random.default_rng(0)
    shapes = REAL_SHAPES.get(name, {})
    feeds = {
        v.name: random_input(v, shapes.get(v.name), rng)
        for v in graph.inputs
        if v.name not in graph.initializers
    }
    if name == "minilm_l6_int8.onnx":
        feeds["input_ids"] = rng.integers(0, 30000, size=(1, 16)).astype(np.int64)
        feeds["attention_mask"] = np.ones((1, 16), np.int64)
        feeds["token_type_ids"] = np.zeros((1, 16), np.int64)
    _assert_same_results(model, feeds, rtol=1e-3, atol=1e-4)


# ---- gossamer export ----------------------------------------------------------------------------
@pytest.fixture
def gsm_path(tmp_path):
    model = make_model(
        [
            helper.make_node("Mul", ["x", "k"], ["m"], name="scale"),
            helper.make_node("Relu", ["m"], ["y"], name="relu"),
        ],
        [tensor_info("x", np.float32, ["N", 3])],
        [tensor_info("y", np.float32, ["N", 3])],
        [numpy_helper.from_array(np.array([1, -2, 3], np.float32), "k")],
    )
    path = tmp_path / "m.gsm"
    save_gsm(graph_from_onnx(model), path)
    return path


def test_export_writes_a_checked_onnx_file_with_the_same_outputs(tmp_path, gsm_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", str(gsm_path), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    onnx.checker.check_model(str(out), full_check=True)
    x = np.array([[1, 1, -1], [0.5, -4, 2]], np.float32)
    (want,) = gossamer.load(gsm_path).run(None, {"x": x})
    (got,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(got, want)


def test_export_accepts_an_onnx_source(tmp_path, gsm_path):
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    assert main(["export", str(gsm_path), "-o", str(first)]) == 0
    assert main(["export", str(first), "-o", str(second)]) == 0
    assert [n.name for n in onnx.load(str(second)).graph.node] == ["scale", "relu"]


def test_export_of_missing_file_fails_with_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.gsm"), "-o", str(tmp_path / "x.onnx")]) == 2
    assert "gossamer export: error:" in capsys.readouterr().err


# ---- gossamer view ------------------------------------------------------------------------------
@pytest.fixture
def fake_netron(monkeypatch):
    calls = []
    module = types.ModuleType("netron")

    def start(path, address=None, browse=True):
        model = onnx.load(path)  # must be readable while the server runs
        calls.append({"path": path, "address": address, "browse": browse, "model": model})
        return address or ("localhost", 8080)

    module.start = start
    module.wait = lambda: calls.append("wait")
    monkeypatch.setitem(sys.modules, "netron", module)
    monkeypatch.setattr("webbrowser.get", lambda *a: object())  # as if a browser were installed
    return calls


def test_view_exports_a_gsm_to_onnx_and_serves_it(gsm_path, fake_netron):
    assert main(["view", str(gsm_path), "--port", "9123", "--no-browser"]) == 0
    call, waited = fake_netron
    assert call["path"].endswith(".onnx") and not call["path"].endswith(".gsm")
    assert [n.name for n in call["model"].graph.node] == ["scale", "relu"]
    assert call["address"] == ("localhost", 9123) and call["browse"] is False
    assert waited == "wait"


def test_view_opens_an_onnx_file_directly(tmp_path, gsm_path, fake_netron):
    onnx_path = tmp_path / "direct.onnx"
    main(["export", str(gsm_path), "-o", str(onnx_path)])
    assert main(["view", str(onnx_path)]) == 0
    assert fake_netron[0]["path"] == str(onnx_path)
    assert fake_netron[0]["browse"] is True


def test_view_without_netron_says_how_to_install_it(gsm_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "netron", None)  # `import netron` raises ImportError
    assert main(["view", str(gsm_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "gossamer view: error: install the view extra: pip install 'gossamer[view]'"
