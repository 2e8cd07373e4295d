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
