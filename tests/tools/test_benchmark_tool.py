"""`gossamer benchmark`: JSON fields, the setting and memory it reports, profile tables, --top,
--trace, --plot, golden write-then-compare, bad options.

No timing assertions: only the structure of what the tool reports, and the orderings that hold
whatever the timings are.
"""

import json
import re
import sys

import numpy as np
import pytest
from gossamer.tools.golden import compare_output

from gossamer.cli import main
from tests.tools.attribution_backends import project_relu_double, registered

NODES = ["project", "relu", "double"]


@pytest.fixture
def model_path(tmp_path):
    return project_relu_double(tmp_path / "m.onnx")


# Every call passes -O 0: these tests name the nodes of the graph as written.


def _bench_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["benchmark", "-O", "0", *args, "--json", "--warmup", "1", "--loops", "3"])
    return code, json.loads(capsys.readouterr().out)


def test_json_reports_latency_load_and_placement(model_path, capsys):
    code, report = _bench_json(capsys, str(model_path))
    assert code == 0
    lat = report["latency_ms"]
    assert set(lat) == {"mean", "std", "min", "median", "p50", "p90", "p95", "p99", "max"}
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert lat["min"] <= lat["mean"] <= lat["max"] and lat["std"] >= 0
    assert lat["p50"] == pytest.approx(lat["median"])
    assert len(report["runs_ms"]) == 3 and report["loops"] == 3 and report["warmup"] == 1
    assert min(report["runs_ms"]) == pytest.approx(lat["min"])
    assert max(report["runs_ms"]) == pytest.approx(lat["max"])
    assert set(report["load_ms"]) == {"read", "optimize", "session", "total"}
    load = report["load_ms"]
    assert load["total"] == pytest.approx(load["read"] + load["optimize"] + load["session"])
    assert sum(report["placement"].values()) == 3  # every node placed on some backend
    assert "profile" not in report and "golden" not in report and "trace" not in report


def test_cold_run_is_reported_apart_from_the_timed_runs(model_path, capsys):
    main(["benchmark", "-O", "0", str(model_path), "--json", "--warmup", "2", "--loops", "4"])
    report = json.loads(capsys.readouterr().out)
    assert report["cold_ms"] > 0 and not report["cold_in_timed_runs"]
    assert len(report["warmup_runs_ms"]) == 2 and len(report["runs_ms"]) == 4
    assert report["cold_ms"] == report["warmup_runs_ms"][0]  # the first run of the session


def test_without_warmup_the_cold_run_is_the_first_timed_run(model_path, capsys):
    main(["benchmark", "-O", "0", str(model_path), "--json", "--warmup", "0", "--loops", "2"])
    report = json.loads(capsys.readouterr().out)
    assert report["cold_in_timed_runs"] and report["warmup_runs_ms"] == []
    assert report["cold_ms"] == report["runs_ms"][0]
    main(["benchmark", "-O", "0", str(model_path), "--warmup", "0", "--loops", "2"])
    assert "also the first timed run" in capsys.readouterr().out


def test_memory_is_the_process_peak_and_growth_over_the_timed_runs(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path))
    mem = report["memory"]
    assert mem["peak_rss_scope"] == "process"
    if sys.platform.startswith("linux"):
        assert mem["peak_rss_bytes"] >= mem["rss_after_timed_runs_bytes"] > 0
        growth = mem["rss_after_timed_runs_bytes"] - mem["rss_before_timed_runs_bytes"]
        assert mem["rss_growth_bytes"] == growth


def test_text_report_shows_cold_percentiles_memory_and_setting(model_path, capsys):
    assert main(["benchmark", "-O", "0", str(model_path), "--loops", "2", "--warmup", "1"]) == 0
    out = capsys.readouterr().out
    for text in ("cold (first run)", "mean", "std", "p50", "p90", "p99", "max", "threads:",
                 "backends: reference: 3 nodes", "peak RSS", "process's peak"):  # fmt: skip
        assert text in out, text


def test_inputs_report_dtype_shape_and_a_random_source(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path))
    (x,) = report["inputs"]
    assert (x["name"], x["dtype"], x["shape"]) == ("x", "float32", [1, 4])
    assert x["source"] == {"kind": "random", "seed": 0, "symbolic": {"N": 1}, "shape_from": "model"}


def test_inputs_report_a_shape_given_with_shape(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--shape", "x=5,4", "--seed", "7")
    (x,) = report["inputs"]
    assert x["shape"] == [5, 4]
    assert x["source"]["shape_from"] == "--shape" and x["source"]["seed"] == 7


def test_inputs_report_a_file_source(model_path, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    _, report = _bench_json(capsys, str(model_path), "-i", f"x={tmp_path / 'x.npy'}")
    (x,) = report["inputs"]
    assert x["shape"] == [2, 4] and x["source"]["kind"] == "file"
    assert x["source"]["from"].endswith("x.npy")
    main(["benchmark", "-O", "0", str(model_path), "-i", f"x={tmp_path / 'x.npy'}", "--loops", "1"])
    assert re.search(r"x: float32\[2,4\]\s+from .*x\.npy", capsys.readouterr().out)


def test_threads_and_backends_in_use_are_reported(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path))
    assert report["threads"] is None and report["threads_used"] >= 1
    (backend,) = report["backends"]
    assert backend == {"name": "reference", "description": "reference", "nodes": 3}


def test_optimize_level_is_reported(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "-O", "2")
    assert report["optimize"] == 2


def test_backends_option_restricts_the_placement(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--backends", "reference", "--profile")
    assert report["placement"] == {"reference": 3}
    assert {n["backend"] for n in report["profile"]["nodes"]} == {"reference"}


def test_threads_option_reaches_the_session(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--threads", "1")
    assert report["threads"] == 1


def test_profile_tables_list_nodes_and_op_types(model_path, capsys):
    assert main(["benchmark", "-O", "0", str(model_path), "--profile", "--loops", "2"]) == 0
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


def _table(out: str, title: str) -> list[str]:
    """The rows of one profile table of the text report (header excluded)."""
    block = out.split(title, 1)[1].split("\n\n", 1)[0]
    return [line for line in block.splitlines()[2:] if line.strip()]


def test_top_keeps_the_slowest_rows_and_accounts_for_the_rest(model_path, capsys):
    assert main(["benchmark", "-O", "0", str(model_path), "--top", "1", "--loops", "2"]) == 0
    out = capsys.readouterr().out  # --top implies --profile
    for title, noun in (("per node (slowest first):", "nodes"), ("per op type:", "op types")):
        rows = _table(out, title)
        assert len(rows) == 2, rows  # one row, then the left-out line
        left = re.search(rf"\.\.\. 2 more {noun} left out \(--top 1\): ([\d.]+) % of the time",
                         rows[1])  # fmt: skip
        assert left, rows[1]
        shown = float(rows[0].split()[-3])  # the % column
        assert shown + float(left.group(1)) == pytest.approx(100, abs=0.02)


def test_top_rows_are_ordered_slowest_first(model_path, capsys):
    main(["benchmark", "-O", "0", str(model_path), "--top", "3", "--loops", "2"])
    rows = _table(capsys.readouterr().out, "per node (slowest first):")
    shares = [float(r.split()[-3]) for r in rows]
    assert len(rows) == 3 and shares == sorted(shares, reverse=True)  # nothing left out


def test_json_keeps_every_profile_row_with_top(model_path, capsys):
    _, report = _bench_json(capsys, str(model_path), "--top", "1")
    assert [n["name"] for n in report["profile"]["nodes"]] == NODES


def _trace_events(path):
    doc = json.loads(path.read_text())
    assert set(doc) >= {"traceEvents"} and isinstance(doc["traceEvents"], list)
    for event in doc["traceEvents"]:
        assert {"name", "ph", "pid"} <= set(event)
        if event["ph"] == "X":
            assert event["ts"] >= 0 and event["dur"] >= 0 and "tid" in event
    return [e for e in doc["traceEvents"] if e["ph"] == "X" and e["tid"] != 0]


def test_trace_has_one_event_per_node_per_run_with_backend_and_shapes(model_path, tmp_path,
                                                                       capsys):  # fmt: skip
    trace = tmp_path / "t.json"
    code, report = _bench_json(capsys, str(model_path), "--trace", str(trace), "--trace-runs", "2")
    assert code == 0 and report["trace"] == {"path": str(trace), "runs": 2, "node_events": 6}
    events = _trace_events(trace)
    for run in (1, 2):
        assert [e["name"] for e in events if e["tid"] == run] == NODES  # execution order
    for e in events:
        assert e["args"]["backend"] == "reference"
        assert e["args"]["op_type"] in {"MatMul", "Relu", "Add"}
    project = next(e for e in events if e["name"] == "project")
    assert project["args"]["inputs"] == ["float32[1,4]", "float32[4,3]"]
    assert project["args"]["outputs"] == ["float32[1,3]"]


def test_trace_text_report_names_the_file(model_path, tmp_path, capsys):
    trace = tmp_path / "t.json"
    assert (
        main(["benchmark", "-O", "0", str(model_path), "--loops", "1", "--trace", str(trace)]) == 0
    )
    assert f"9 node events from 3 run(s) written to {trace}" in capsys.readouterr().out


def test_trace_into_a_missing_folder_fails_before_running(model_path, tmp_path, capsys):
    code = main(
        ["benchmark", "-O", "0", str(model_path), "--trace", str(tmp_path / "no" / "t.json")]
    )
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_partition_and_runtime_fallback_are_attributed(model_path, tmp_path, capsys):
    trace = tmp_path / "t.json"
    with registered():
        _, fused = _bench_json(capsys, str(model_path), "--backends", "relu_add_fuser",
                               "--profile", "--trace", str(trace))  # fmt: skip
        _, picky = _bench_json(capsys, str(model_path), "--backends", "picky_relu",
                               "--profile", "--shape", "x=2,4")  # fmt: skip
        main(["benchmark", "-O", "0", str(model_path), "--backends", "picky_relu", "--shape",
              "x=2,4", "--profile", "--loops", "2", "--warmup", "0"])  # fmt: skip
    rows = {n["name"]: n for n in fused["profile"]["nodes"]}
    (partition,) = [n for n in rows if n.startswith("relu_add_fuser_partition_")]
    assert rows[partition]["op_type"] == "Partition"
    assert rows[partition]["backend"] == "relu_add_fuser"
    assert {e["args"]["backend"] for e in _trace_events(trace) if e["name"] == partition} == {
        "relu_add_fuser"
    }
    relu = next(n for n in picky["profile"]["nodes"] if n["name"] == "relu")
    assert relu["backend"] == "picky_relu" and relu["fallback_calls"] == relu["calls"] == 3
    assert picky["runtime_fallbacks"]["relu"]["calls"] == 1 + 3  # the warm-up run, then 3 timed
    assert "batch above 1" in picky["runtime_fallbacks"]["relu"]["reason"]
    out = capsys.readouterr().out
    assert "runtime fallbacks" in out and "picky_relu*" in out


def test_cpu_kernels_report_their_simd_level(model_path, capsys):
    from gossamer.plugins.manager import all_backends, availability

    cython = all_backends().get("cython")
    if cython is None or availability(cython) is not None:
        pytest.skip("the cython backend is not available here")
    _, report = _bench_json(capsys, str(model_path), "--backends", "cython")
    (backend,) = report["backends"]
    assert backend["name"] == "cython" and backend["nodes"] == 3
    assert re.fullmatch(r"cython \((avx512f|avx2\+fma|generic)\)", backend["description"])


# ---- --plot -------------------------------------------------------------------------------------
def test_plot_writes_a_png(model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "ops.png"
    code, report = _bench_json(capsys, str(model_path), "--plot", str(plot))
    assert code == 0 and report["plot"] == str(plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "profile" in report  # --plot implies --profile


def test_plot_svg_labels_op_types_and_backends(model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "ops.svg"
    with registered():
        code = main(["benchmark", "-O", "0", str(model_path), "--backends", "picky_relu",
                     "--loops", "1", "--plot", str(plot)])  # fmt: skip
    assert code == 0 and f"written to {plot}" in capsys.readouterr().out
    svg = plot.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("MatMul", "Relu", "Add", "picky_relu", "reference"):
        assert text in svg, text


def test_plot_without_matplotlib_is_a_one_line_error_naming_the_extra(
    model_path, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code = main(["benchmark", "-O", "0", str(model_path), "--plot", str(tmp_path / "p.png")])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "matplotlib" in err[0] and "gossamer[plot]" in err[0]
    assert captured.out == "" and not (tmp_path / "p.png").exists()  # nothing ran


def test_plot_with_an_unknown_format_is_an_error(model_path, tmp_path, capsys):
    assert main(["benchmark", "-O", "0", str(model_path), "--plot", str(tmp_path / "p.jpeg")]) == 2
    assert ".png" in capsys.readouterr().err


def test_golden_is_written_when_missing(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    code, report = _bench_json(capsys, str(model_path), "--golden", str(golden))
    assert code == 0 and report["golden"]["action"] == "wrote"
    assert np.load(golden)["y"].shape == (1, 3)


def test_golden_passes_against_identical_outputs(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    main(["benchmark", "-O", "0", str(model_path), "--golden", str(golden), "--loops", "1"])
    capsys.readouterr()
    code, report = _bench_json(capsys, str(model_path), "--golden", str(golden))
    assert code == 0
    (check,) = report["golden"]["outputs"]
    assert check["name"] == "y" and check["mean_rel_err_pct"] == 0.0
    assert check["cosine"] == pytest.approx(1.0)


def test_golden_fails_with_exit_1_when_perturbed_beyond_threshold(model_path, tmp_path, capsys):
    golden = tmp_path / "g.npz"
    main(["benchmark", "-O", "0", str(model_path), "--golden", str(golden), "--loops", "1"])
    np.savez(golden, y=np.load(golden)["y"] * 1.05)  # 5 % off everywhere (~4.8 % relative)
    capsys.readouterr()
    assert (
        main(["benchmark", "-O", "0", str(model_path), "--golden", str(golden), "--loops", "1"])
        == 1
    )
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
    assert main(["benchmark", "-O", "0", str(model_path), f"--threshold={bad}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--threshold" in err[0]


@pytest.mark.parametrize(
    "args, option",
    [(["--loops", "0"], "--loops"), (["--top", "0"], "--top"),
     (["--trace", "t.json", "--trace-runs", "0"], "--trace-runs")],
)  # fmt: skip
def test_bad_counts_are_one_line_errors(model_path, capsys, args, option):
    assert main(["benchmark", "-O", "0", str(model_path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0]


def test_input_file_is_used(model_path, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    golden = tmp_path / "g.npz"
    main(
        [
            "benchmark",
            "-O",
            "0",
            str(model_path),
            "-i",
            f"x={tmp_path / 'x.npy'}",
            "--golden",
            str(golden),
        ]
    )
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
