"""refimpl/tensor_dump.py: per-tensor statistics, the index entries the dumper writes, and the
text summary of an index."""

import json

import ml_dtypes
import numpy as np
import pytest
from gossamer.refimpl.ir import Node
from gossamer.refimpl.tensor_dump import DISTINCT_CAP, TensorDumper, format_index, tensor_stats


def test_float_stats_are_over_the_finite_values_with_nan_and_inf_counted():
    stats = tensor_stats(np.array([1.0, np.nan, np.inf, -np.inf, -3.0], np.float32))
    assert stats == {"nan": 1, "inf": 2, "min": -3.0, "max": 1.0, "mean": -1.0, "std": 2.0}


def test_a_tensor_without_finite_values_has_null_statistics():
    stats = tensor_stats(np.array([np.nan, np.inf], np.float16))
    assert stats["nan"] == 1 and stats["inf"] == 1
    assert stats["min"] is stats["max"] is stats["mean"] is stats["std"] is None


def test_empty_tensor_statistics():
    assert tensor_stats(np.zeros((0, 3), np.float32))["mean"] is None
    assert tensor_stats(np.zeros((0,), np.int32))["distinct"] == 0


def test_float_stats_do_not_overflow_in_float16():
    stats = tensor_stats(np.full(1000, 60000, np.float16))  # the float16 sum would overflow
    assert stats["mean"] == pytest.approx(60000) and stats["std"] == 0.0


def test_integer_stats_count_distinct_values_and_keep_exact_extremes():
    stats = tensor_stats(np.array([2**62 + 1, 5, 5, 7], np.int64))
    assert stats["min"] == 5 and stats["max"] == 2**62 + 1  # exact, not through float64
    assert stats["distinct"] == 3 and "distinct_capped" not in stats
    assert "nan" not in stats


def test_distinct_count_is_capped():
    stats = tensor_stats(np.arange(DISTINCT_CAP + 5, dtype=np.int32))
    assert stats["distinct"] == DISTINCT_CAP and stats["distinct_capped"] is True


def test_bool_stats():
    stats = tensor_stats(np.array([True, False, True, True]))
    assert (stats["min"], stats["max"], stats["mean"], stats["distinct"]) == (0, 1, 0.75, 2)


def test_uint64_above_int64_keeps_its_extremes():
    stats = tensor_stats(np.array([0, 2**64 - 1], np.uint64))
    assert stats["max"] == 2**64 - 1 and stats["min"] == 0


def test_ml_dtypes_are_summarised():
    bf = tensor_stats(np.array([1.0, 3.0], ml_dtypes.bfloat16))
    assert bf["mean"] == 2.0 and bf["nan"] == 0
    i4 = tensor_stats(np.array([-2, 3, 3], ml_dtypes.int4))
    assert (i4["min"], i4["max"], i4["distinct"]) == (-2, 3, 2)


def test_strings_get_a_distinct_count_only():
    assert tensor_stats(np.array(["a", "b", "a"], dtype=object)) == {"distinct": 2}


def test_statistics_are_strict_json():
    for array in (np.array([np.nan, 1e38, -1e38], np.float32), np.array([np.inf]),
                  np.array([], np.float64), np.array([1 + 2j])):  # fmt: skip
        json.dumps(tensor_stats(array), allow_nan=False)


def _node(name, op_type, outputs):
    return Node(op_type, ["x"], outputs, name=name)


def test_dumper_index_entries_carry_backend_dtype_shape_and_stats(tmp_path):
    backends = {"a": ("cython", None), "b": ("reference", "cython: shape not handled")}
    dumper = TensorDumper(tmp_path, backend_of=lambda node: backends[node.name])
    dumper.dump_feeds({"x": np.ones((2, 2), np.float32)}, {"x": {"kind": "random", "seed": 0}})
    dumper.after_node(_node("a", "Relu", ["y"]), [], [np.array([1, 2], np.int64)])
    dumper.after_node(_node("b", "Log", ["z"]), [], [np.array([np.nan, 1.0], np.float32)])
    index = json.loads((tmp_path / "index.json").read_text())
    assert index == dumper.entries
    feed = index[0]
    assert feed["node"] is None and feed["op_type"] == "<input>" and feed["backend"] is None
    assert feed["outputs"][0]["source"] == {"kind": "random", "seed": 0}
    a, b = index[1], index[2]
    assert a["backend"] == "cython" and "runtime_fallback" not in a
    assert b["backend"] == "reference" and b["runtime_fallback"] == "cython: shape not handled"
    (y,) = a["outputs"]
    assert (y["name"], y["dtype"], y["shape"], y["type"]) == ("y", "int64", [2], "int64[2]")
    assert y["stats"]["distinct"] == 2
    np.testing.assert_array_equal(np.load(tmp_path / y["file"]), [1, 2])
    assert b["outputs"][0]["stats"]["nan"] == 1


def test_dumper_without_backend_of_writes_no_backend(tmp_path):
    dumper = TensorDumper(tmp_path)
    dumper.after_node(_node("a", "Relu", ["y"]), [], [np.ones(2, np.float32)])
    assert "backend" not in dumper.entries[0]


def test_sequence_elements_are_described_one_by_one(tmp_path):
    dumper = TensorDumper(tmp_path)
    seq = [np.ones(2, np.float32), np.arange(3, dtype=np.int32)]
    dumper.after_node(_node("s", "SequenceConstruct", ["seq"]), [], [seq])
    (out,) = dumper.entries[0]["outputs"]
    assert len(out["files"]) == 2
    assert [e["dtype"] for e in out["elements"]] == ["float32", "int32"]
    assert out["elements"][1]["stats"]["distinct"] == 3


def test_format_index_lists_every_tensor_and_the_first_non_finite_value(tmp_path):
    dumper = TensorDumper(tmp_path, backend_of=lambda node: ("cython", None))
    dumper.dump_feeds({"x": np.array([1.0, -1.0], np.float32)})
    dumper.after_node(_node("log", "Log", ["l"]), [], [np.array([0.0, np.nan], np.float32)])
    dumper.after_node(_node("div", "Div", ["d"]), [], [np.array([np.inf], np.float32)])
    lines = format_index(dumper.entries).splitlines()
    assert lines[0].split() == ["node", "op", "backend", "tensor", "type", "min", "max", "mean",
                                "std", "nan/inf", "distinct"]  # fmt: skip
    assert lines[1].split()[:5] == ["(input)", "<input>", "-", "x", "float32[2]"]
    log_row = lines[2].split()
    assert log_row[:5] == ["log", "Log", "cython", "l", "float32[2]"] and log_row[-2] == "1/0"
    assert lines[-1] == "first non-finite value: 'l' of node 'log' (1 NaN, 0 inf)"


def test_format_index_marks_runtime_fallbacks(tmp_path):
    dumper = TensorDumper(tmp_path, backend_of=lambda node: ("reference", "kernel declined"))
    dumper.after_node(_node("a", "Relu", ["y"]), [], [np.ones(2, np.float32)])
    text = format_index(dumper.entries)
    assert "reference*" in text and "the reference ran it" in text
    assert "non-finite" not in text
