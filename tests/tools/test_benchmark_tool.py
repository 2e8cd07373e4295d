"""`gossamer benchmark`: JSON fields, profile tables, golden write-then-compare, bad options.

No timing assertions: only the shape of what the tool reports.
"""

import json

import numpy as np
import pytest
from gossamer.tools.benchmark import compare_output
from onnx import helper

from gossamer.cli import main
from tests.conftest import make_model, tensor_info


@pytest.fixture
def model_path(tmp_path):
    w = helper.make_tensor("w", 1, [4, 3], np.linspace(-0.5, 1, 12).tolist())
    model = make_model(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="project"),
            helper.make_node("Relu", ["h"], ["r"], name="relu"),
            helper.make_node("Add", ["r", "r"], ["y"], name="double"),
        ],
        [tensor_info("x", np.float32, ["N", 4])],
        [tensor_info("y", np.float32, ["N", 3])],
        [w],
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _bench_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["benchmark", *args, "--json", "--warmup", "1", "--loops", "3"])
    return code, json.loads(capsys.readouterr().out)


def test_json_reports_latency_load_and_placement(model_path, capsys):
    code, report = _bench_json(capsys, str(model_path))
    assert code == 0
    assert set(report["latency_ms"]) == {"min", "median", "max", "mean"}
    lat = report["latency_ms"]
    assert 0 < lat["min"] <= lat["median"] <= lat["max"]
    assert len(report["runs_ms"]) == 3 and report["loops"] == 3 and report["warmup"] == 1
    assert set(report["load_ms"]) == {"read", "session", "total"}
    assert sum(report["placement"].values()) == 3  # every node placed on some backend
    assert "profile" not in report and "golden" not in report


def test_backends_option_restricts_the_placement(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--backends", "reference", "--profile")
    assert report["placement"] == {"reference": 3}
    assert {n["backend"] for n in report["profile"]["nodes"]} == {"reference"}


def test_threads_option_reaches_the_session(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--threads", "1")
    assert report["threads"] == 1


def test_profile_tables_list_nodes_and_op_types(model_path, capsys):
    assert main(["benchmark", str(model_path), "--profile", "--loops", "2"]) == 0
    out = capsys.readouterr().out
    assert "per node" in out and "per op type" in out
    for text in ("project", "relu", "double", "MatMul", "Relu", "Add", "reference"):
        assert text in out


def test_profile_json_counts_calls_and_percentages(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--profile")
    nodes = report["profile"]["nodes"]
    assert [n["name"] for n in nodes] == ["project", "relu", "double"]  # execution order
    assert all(n["calls"] == 3 and n["backend"] in report["placement"] for n in nodes)
    ops = {r["op_type"]: r for r in report["profile"]["op_types"]}
    assert set(ops) == {"MatMul", "Relu", "Add"}
    assert sum(r["percent"] for r in ops.values()) == pytest.approx(100.0)


def test_golden_is_written_when_missing(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    code, report = _bench_json(capsys, str(model_path), "--golden", str(golden))
    assert code == 0 and report["golden"]["action"] == "wrote"
    assert np.load(golden)["y"].shape == (1, 3)


def test_golden_passes_against_identical_outputs(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    main(["benchmark", str(model_path), "--golden", str(golden), "--loops", "1"])
    capsys.readouterr()
    code, report = _bench_json(capsys, str(model_path), "--golden", str(golden))
    assert code == 0
    (check,) = report["golden"]["outputs"]
    assert check["name"] == "y" and check["mean_rel_err_pct"] == 0.0
    assert check["cosine"] == pytest.approx(1.0)


def test_golden_fails_with_exit_1_when_perturbed_beyond_threshold(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    main(["benchmark", str(model_path), "--golden", str(golden), "--loops", "1"])
    np.savez(golden, y=np.load(golden)["y"] * 1.05)  # 5 % off everywhere (~4.8 % relative)
    capsys.readouterr()
    assert main(["benchmark", str(model_path), "--golden", str(golden), "--loops", "1"]) == 1
    assert "golden check FAILED" in capsys.readouterr().out
    code, report = _bench_json(capsys, str(model_path), "--golden", str(golden), "--threshold", "6")
    assert code == 0 and report["golden"]["passed"]


def test_golden_missing_output_fails(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    np.savez(golden, other=np.zeros(3, np.float32))
    code, report = _bench_json(capsys, str(model_path), "--golden", str(golden))
    assert code == 1
    assert "not in the golden file" in report["golden"]["outputs"][0]["note"]


@pytest.mark.parametrize("bad", ["-1", "abc", "inf", "nan"])
def test_bad_threshold_is_a_one_line_error(model_path, capsys, bad):
    assert main(["benchmark", str(model_path), f"--threshold={bad}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threshold" in err[0]


def test_zero_loops_is_an_error(model_path, capsys):
    assert main(["benchmark", str(model_path), "--loops", "0"]) == 1
    assert "--loops" in capsys.readouterr().err


def test_input_file_is_used(model_path, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    golden = tmp_path / "g.npz"
    main(["benchmark", str(model_path), "-i", f"x={tmp_path / 'x.npy'}", "--golden", str(golden)])
    assert np.load(golden)["y"].shape == (2, 3)


def test_compare_output_relative_error_and_cosine():
    ref = np.array([1.0, -2.0, 4.0], np.float32)
    err, cosine, _ = compare_output(ref * 1.1, ref)
    assert err == pytest.approx(10.0, rel=1e-5)
    assert cosine == pytest.approx(1.0)
    err, cosine, _ = compare_output(-ref, ref)
    assert err == pytest.approx(200.0) and cosine == pytest.approx(-1.0)


def test_compare_output_counts_near_zero_reference_as_absolute():
    err, _, _ = compare_output(np.array([0.01, 1.0]), np.array([0.0, 1.0]))
    assert err == pytest.approx(0.5)  # (0.01 absolute + 0 relative) / 2, in percent


def test_compare_output_shape_mismatch_is_infinite_error():
    err, _, note = compare_output(np.zeros((2, 3)), np.zeros((3, 2)))
    assert err == float("inf") and "shape" in note
