"""ONNX import: tensors, external data, local functions, subgraphs, declared shapes."""

import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from onnx import helper, numpy_helper

import gossamer
from tests.conftest import make_model, tensor_info


def test_external_data_is_loaded_from_the_model_folder(tmp_path):
    w = np.arange(4096, dtype=np.float32)
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [tensor_info("x", np.float32, [4096])],
        [tensor_info("y", np.float32, [4096])],
        [numpy_helper.from_array(w, "w")],
    )
    path = tmp_path / "m.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    assert (tmp_path / "weights.bin").exists()
    out = gossamer.load(path).run(None, {"x": np.ones(4096, np.float32)})[0]
    np.testing.assert_array_equal(out, w + 1)


def test_missing_external_data_is_a_model_format_error(tmp_path):
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [tensor_info("x", np.float32, [8])],
        [tensor_info("y", np.float32, [8])],
        [numpy_helper.from_array(np.ones(8, np.float32), "w")],
    )
    path = tmp_path / "m.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="w.bin", size_threshold=0
    )
    (tmp_path / "w.bin").unlink()
    with pytest.raises(gossamer.ModelFormatError):
        gossamer.load(path)


def test_model_local_functions_are_inlined():
    fn = helper.make_function(
        "custom",
        "AddRelu",
        ["a", "b"],
        ["c"],
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["c"])],
        [helper.make_opsetid("", 17)],
    )
    model = make_model(
        [
            helper.make_node("AddRelu", ["x", "y"], ["z"], domain="custom"),
            helper.make_node("AddRelu", ["z", "y"], ["w"], domain="custom"),
        ],
        [tensor_info("x", np.float32, [3]), tensor_info("y", np.float32, [3])],
        [tensor_info("w", np.float32, [3])],
        extra_opsets=[helper.make_opsetid("custom", 1)],
        functions=[fn],
    )
    graph = graph_from_onnx(model)
    assert [n.op_type for n in graph.nodes] == ["Add", "Relu", "Add", "Relu"]
    x = np.array([-3, 0, 2], np.float32)
    y = np.array([1, -1, 1], np.float32)
    out = gossamer.load(model.SerializeToString()).run(None, {"x": x, "y": y})[0]
    np.testing.assert_array_equal(out, np.maximum(np.maximum(x + y, 0) + y, 0))


def test_declared_unknown_dims_become_none():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [tensor_info("x", np.float32, ["?", 3])],
        [tensor_info("y", np.float32, None)],
    )
    model.graph.input[0].type.tensor_type.shape.dim[0].Clear()
    graph = graph_from_onnx(model)
    assert graph.inputs[0].shape == (None, 3)


def test_attributes_of_every_kind_are_converted():
    node = helper.make_node(
        "Foo",
        ["x"],
        ["y"],
        f=1.5,
        i=3,
        s="abc",
        fs=[1.0, 2.0],
        is_=[1, 2],
        ss=["a", "b"],
        t=numpy_helper.from_array(np.eye(2, dtype=np.float32)),
    )
    model = make_model([node], [tensor_info("x")], [tensor_info("y")])
    attrs = graph_from_onnx(model).nodes[0].attrs
    assert attrs["f"] == 1.5 and attrs["i"] == 3 and attrs["s"] == "abc"
    assert attrs["fs"] == [1.0, 2.0] and attrs["is_"] == [1, 2] and attrs["ss"] == ["a", "b"]
    np.testing.assert_array_equal(attrs["t"], np.eye(2, dtype=np.float32))


def test_subgraph_attributes_become_graphs_with_outer_references():
    then_g = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["r"])],
        "then",
        [],
        [tensor_info("r", np.float32, [2])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r2"])], "else", [], [tensor_info("r2", np.float32, [2])]
    )
    model = make_model(
        [helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
        [tensor_info("c", np.bool_, []), tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
    )
    graph = graph_from_onnx(model)
    body = graph.nodes[0].attrs["then_branch"]
    assert body.free_names() == {"x"}
    graph.validate()


def test_opset_imports_and_metadata_are_kept():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])], [tensor_info("x")], [tensor_info("y")], opset=13
    )
    helper.set_model_props(model, {"author": "test"})
    graph = graph_from_onnx(model)
    assert graph.opsets[""] == 13
    assert graph.metadata["author"] == "test"


# ---- hostile structure: typed errors, bounded work -------------------------------------------
def _calling(name: str, callees: list[str], times: int = 1) -> onnx.FunctionProto:
    """Function `name`(a) -> c that applies each callee `times` times in a chain."""
    nodes, prev = [], "a"
    for i, callee in enumerate(callees * times):
        out = "c" if i == len(callees) * times - 1 else f"t{i}"
        nodes.append(helper.make_node(callee, [prev], [out], domain="custom"))
        prev = out
    return helper.make_function("custom", name, ["a"], ["c"], nodes, [helper.make_opsetid("", 17)])


def _model_calling(fn_name: str, functions: list[onnx.FunctionProto]) -> onnx.ModelProto:
    return make_model(
        [helper.make_node(fn_name, ["x"], ["y"], domain="custom")],
        [tensor_info("x", np.float32, [3])],
        [tensor_info("y", np.float32, [3])],
        extra_opsets=[helper.make_opsetid("custom", 1)],
        functions=functions,
    )


def test_function_calling_itself_is_a_format_error_naming_it():
    model = _model_calling("Loopy", [_calling("Loopy", ["Loopy"])])
    with pytest.raises(gossamer.ModelFormatError, match=r"'Loopy' calls itself \(custom::Loopy"):
        gossamer.load(model.SerializeToString())


def test_functions_calling_each_other_are_a_format_error_naming_the_cycle():
    model = _model_calling("Ping", [_calling("Ping", ["Pong"]), _calling("Pong", ["Ping"])])
    with pytest.raises(gossamer.ModelFormatError, match="Ping -> custom::Pong -> custom::Ping"):
        gossamer.load(model.SerializeToString())


def test_functions_that_multiply_into_millions_of_nodes_are_refused():
    # F0 = Relu; F(k) calls F(k-1) ten times: F7 would inline 10^7 nodes
    fns = [helper.make_function("custom", "F0", ["a"], ["c"],
                                [helper.make_node("Relu", ["a"], ["c"])],
                                [helper.make_opsetid("", 17)])]  # fmt: skip
    fns += [_calling(f"F{k}", [f"F{k - 1}"], times=10) for k in range(1, 8)]
    with pytest.raises(gossamer.ModelFormatError, match="more than 2,000,000 nodes"):
        gossamer.load(_model_calling("F7", fns).SerializeToString())


def test_function_call_chains_deeper_than_the_limit_are_a_format_error():
    fns = [helper.make_function("custom", "F0", ["a"], ["c"],
                                [helper.make_node("Relu", ["a"], ["c"])],
                                [helper.make_opsetid("", 17)])]  # fmt: skip
    fns += [_calling(f"F{k}", [f"F{k - 1}"]) for k in range(1, 2000)]
    assert gossamer.load(_model_calling("F60", fns).SerializeToString())
    with pytest.raises(gossamer.ModelFormatError, match="through 65 nested functions"):
        gossamer.load(_model_calling("F1999", fns).SerializeToString())


def _nested_ifs(levels: int) -> bytes:
    leaf = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["o"])], "leaf", [], [tensor_info("o", np.float32)]
    )
    body = leaf
    for depth in range(levels):
        node = helper.make_node("If", ["c"], ["o"], then_branch=body, else_branch=leaf)
        body = helper.make_graph([node], f"level{depth}", [], [tensor_info("o", np.float32)])
    model = make_model(
        body.node, [tensor_info("c", np.bool_, []), tensor_info("x", np.float32, [3])],
        [tensor_info("o", np.float32)],
    )  # fmt: skip
    return model.SerializeToString()


def test_bodies_nested_deeper_than_the_limit_are_a_format_error(monkeypatch):
    from gossamer.converter import onnx_import

    monkeypatch.setattr(onnx_import, "MAX_GRAPH_DEPTH", 8)
    assert gossamer.load(_nested_ifs(8)).run(None, {"c": np.array(True), "x": np.ones(3, "f")})
    with pytest.raises(gossamer.ModelFormatError, match="nested 9 levels deep"):
        gossamer.load(_nested_ifs(9))


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2), written by hand."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_bodies_nested_deeper_than_protobuf_parses_are_a_format_error():
    graph = b""
    for _ in range(200):  # GraphProto.node -> NodeProto.attribute -> AttributeProto.g -> ...
        attr = _field(1, b"then_branch") + _varint(20 << 3) + _varint(5) + _field(6, graph)
        graph = _field(1, _field(1, b"c") + _field(4, b"If") + _field(5, attr))
    model = _varint(1 << 3) + _varint(8) + _field(7, graph) + _field(8, _varint(2 << 3) + b"\x11")
    with pytest.raises(gossamer.ModelFormatError, match="cannot read ONNX model"):
        gossamer.load(model)


def _sparse_model(dims, indices, values) -> bytes:
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(np.asarray(values, np.float32), "w"),
        numpy_helper.from_array(np.asarray(indices, np.int64), "w_idx"),
        dims,
    )
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [tensor_info("x", np.float32, None)],
        [tensor_info("y", np.float32)],
    )
    model.graph.sparse_initializer.append(sparse)
    return model.SerializeToString()


def test_sparse_initializer_is_densified():
    sess = gossamer.load(_sparse_model([4], [1, 3], [5.0, 7.0]))
    out = sess.run(None, {"x": np.zeros(4, np.float32)})[0]
    np.testing.assert_array_equal(out, [0, 5, 0, 7])


@pytest.mark.parametrize(
    "dims, indices, values, message",
    [
        ([2**40, 2**30], [0], [1.0], "would take 4.0 EiB|over the memory budget"),
        ([4], [1, 9], [5.0, 7.0], "indices outside dims"),
        ([4], [-1], [5.0], "indices outside dims"),
        ([4], [1, 2, 3], [5.0], "do not match"),
    ],
    ids=["huge-dense", "index-past-end", "negative-index", "count-mismatch"],
)
def test_hostile_sparse_initializer_is_a_format_error(dims, indices, values, message):
    with pytest.raises(gossamer.ModelFormatError, match=message):
        gossamer.load(_sparse_model(dims, indices, values))


def test_model_bytes_with_external_data_never_read_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "w.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    monkeypatch.chdir(tmp_path)
    tensor = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "w.bin"
    model = make_model(
        [helper.make_node("Relu", ["w"], ["y"])], [], [tensor_info("y", np.float32)], [tensor]
    )
    with pytest.raises(gossamer.ModelFormatError, match="load it from its file path"):
        gossamer.load(model.SerializeToString())
