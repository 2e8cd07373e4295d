"""`gossamer dump`: index.json keeps its fields and gains per-tensor statistics and the backend
of each node; the text summary shows them and names the first NaN or inf."""

import json

import numpy as np
from onnx import helper

from gossamer.cli import main
from tests.conftest import make_model, tensor_info
from tests.tools.attribution_backends import project_relu_double, registered


def _dump(tmp_path, model, *args):
    out = tmp_path / "dump"
    assert main(["dump", str(model), "-o", str(out), "-O", "0", *args]) == 0  # as written
    return json.loads((out / "index.json").read_text()), out


def test_index_keeps_its_fields_and_adds_stats_and_backends(tmp_path, capsys):
    model = project_relu_double(tmp_path / "m.onnx")
    index, out = _dump(tmp_path, model, "--random", "--shape", "x=2,4")
    assert [e["op_type"] for e in index] == ["<input>", "MatMul", "Relu", "Add"]
    assert [e["node"] for e in index] == [None, "project", "relu", "double"]
    assert [e["backend"] for e in index] == [None, "reference", "reference", "reference"]
    for entry in index:
        (t,) = entry["outputs"]
        array = np.load(out / t["file"])
        assert t["type"] == f"float32{list(array.shape)}"
        assert t["dtype"] == "float32" and t["shape"] == list(array.shape)
        s = t["stats"]
        assert (s["nan"], s["inf"]) == (0, 0)
        assert s["min"] == float(array.min()) and s["max"] == float(array.max())
        assert s["min"] <= s["mean"] <= s["max"] and s["std"] >= 0
    x = index[0]["outputs"][0]
    assert x["source"] == {"kind": "random", "seed": 0, "symbolic": {"N": 2},
                           "shape_from": "--shape"}  # fmt: skip


def test_text_summary_shows_each_tensor_with_its_backend_and_stats(tmp_path, capsys):
    model = project_relu_double(tmp_path / "m.onnx")
    _dump(tmp_path, model, "--random")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["node", "op", "backend", "tensor", "type"]
    rows = {line.split()[0]: line.split() for line in lines[1:5]}
    assert set(rows) == {"(input)", "project", "relu", "double"}
    assert rows["relu"][1:5] == ["Relu", "reference", "r", "float32[1,3]"]
    assert float(rows["relu"][5]) >= 0  # the min of a Relu output
    assert lines[-1].startswith("wrote 4 tensors from 3 nodes")
    assert not any("non-finite" in line for line in lines)


def test_first_nan_is_named(tmp_path, capsys):
    model = make_model(
        [
            helper.make_node("Neg", ["x"], ["n"], name="negate"),
            helper.make_node("Sqrt", ["n"], ["s"], name="root"),  # NaN for every x > 0
            helper.make_node("Relu", ["s"], ["y"], name="relu"),
        ],
        [tensor_info("x", np.float32, [3])],
        [tensor_info("y", np.float32, [3])],
    )
    path = tmp_path / "nan.onnx"
    path.write_bytes(model.SerializeToString())
    np.save(tmp_path / "x.npy", np.array([1.0, 4.0, 0.0], np.float32))
    index, _ = _dump(tmp_path, path, "-i", f"x={tmp_path / 'x.npy'}")
    root = index[2]["outputs"][0]["stats"]
    assert root["nan"] == 2 and root["min"] == root["max"] == 0.0  # sqrt(-0) is the finite one
    assert index[0]["outputs"][0]["source"] == {"kind": "file", "from": str(tmp_path / "x.npy")}
    assert "first non-finite value: 's' of node 'root' (2 NaN, 0 inf)" in capsys.readouterr().out


def test_integer_tensors_get_distinct_counts(tmp_path, capsys):
    model = make_model(
        [helper.make_node("ArgMax", ["x"], ["y"], name="argmax", axis=1, keepdims=0)],
        [tensor_info("x", np.float32, [8, 5])],
        [tensor_info("y", np.int64, [8])],
    )
    path = tmp_path / "argmax.onnx"
    path.write_bytes(model.SerializeToString())
    index, out = _dump(tmp_path, path, "--random")
    (y,) = index[1]["outputs"]
    assert y["dtype"] == "int64" and "nan" not in y["stats"]
    assert y["stats"]["distinct"] == len(np.unique(np.load(out / y["file"])))


def test_partition_and_runtime_fallback_backends(tmp_path, capsys):
    model = project_relu_double(tmp_path / "m.onnx")
    with registered():
        fused, _ = _dump(tmp_path, model, "--random", "--backends", "relu_add_fuser")
        picky, _ = _dump(tmp_path, model, "--random", "--backends", "picky_relu", "--shape",
                         "x=2,4")  # fmt: skip
    (partition,) = [e for e in fused if e["node"] and "_partition_" in e["node"]]
    assert partition["backend"] == "relu_add_fuser"
    assert partition["outputs"][0]["name"] == "y"
    relu = next(e for e in picky if e["node"] == "relu")
    assert relu["backend"] == "reference" and "batch above 1" in relu["runtime_fallback"]
    assert "reference*" in capsys.readouterr().out


def test_runtime_fallback_is_not_reported_when_the_kernel_ran(tmp_path, capsys):
    model = project_relu_double(tmp_path / "m.onnx")
    with registered():
        index, _ = _dump(tmp_path, model, "--random", "--backends", "picky_relu")  # batch 1
    relu = next(e for e in index if e["node"] == "relu")
    assert relu["backend"] == "picky_relu" and "runtime_fallback" not in relu


def test_optimize_option_dumps_the_optimised_graph(tmp_path, capsys):
    model = make_model(
        [
            helper.make_node("Identity", ["x"], ["i"], name="copy"),
            helper.make_node("Relu", ["i"], ["y"], name="relu"),
        ],
        [tensor_info("x", np.float32, [3])],
        [tensor_info("y", np.float32, [3])],
    )
    path = tmp_path / "id.onnx"
    path.write_bytes(model.SerializeToString())
    as_written, _ = _dump(tmp_path, path, "--random", "-O", "0")
    optimised, _ = _dump(tmp_path, path, "--random", "-O", "1")
    assert "Identity" in [e["op_type"] for e in as_written]
    assert "Identity" not in [e["op_type"] for e in optimised]
