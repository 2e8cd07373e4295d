"""The ethos-u backend as the host sees it: opt-in selection, availability, export refusals,
and the benchmark's estimate column."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.tflite.import_graph import graph_from_tflite
from gossamer.npu_plugin import backend as npu_backend
from gossamer.npu_plugin.backend import EthosUBackend
from gossamer.plugins import Claim, Decline
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer
from gossamer.cli import main as cli_main

from .models import split_cnn

pytestmark = pytest.mark.usefixtures("ethos_u")


def test_it_runs_only_where_named(monkeypatch):
    monkeypatch.delenv("GOSSAMER_BACKENDS", raising=False)
    sess = gossamer.load(split_cnn())
    assert "ethos-u" not in sess.placement.backend_of.values()
    assert sess.placement.excluded["ethos-u"] == "not selected (runs only when named)"
    monkeypatch.setenv("GOSSAMER_BACKENDS", "ethos-u")
    assert "ethos-u" in gossamer.load(split_cnn()).placement.backend_of.values()


def test_without_vela_it_is_unavailable_with_the_reason(monkeypatch):
    real = npu_backend.importlib.util.find_spec
    monkeypatch.setattr(
        npu_backend.importlib.util, "find_spec", lambda n: None if n == "ethosu" else real(n)
    )
    from gossamer.npu_plugin import vela_runner

    monkeypatch.setattr(
        vela_runner.importlib.util, "find_spec", lambda n: None if n == "ethosu" else real(n)
    )
    assert "ethos-u-vela" in EthosUBackend().is_available()
    with pytest.raises(gossamer.GossamerError, match="ethos-u-vela"):
        gossamer.load(split_cnn(), backends=["ethos-u"])


def test_a_float_graph_is_declined_without_running_vela(monkeypatch):
    monkeypatch.setattr(npu_backend, "run_vela", lambda *a: pytest.fail("Vela ran"))
    graph = Graph(
        nodes=[Node("Relu", ["x"], ["y"], name="relu")],
        inputs=[Value("x", "float32", (2, 2))],
        outputs=[Value("y", "float32", (2, 2))],
        opsets={"": 17},
    )
    (answer,) = EthosUBackend().get_capability(graph)
    assert isinstance(answer, Decline) and "integer feature maps" in answer.reason


def test_a_node_the_exporter_refuses_is_declined_and_the_rest_still_claimed():
    graph = graph_from_tflite(split_cnn())  # plus a determinant, which TFLite has no op for
    graph.nodes.append(Node("Det", ["m"], ["det"], name="det"))
    graph.inputs.append(Value("m", "float32", (3, 3)))
    graph.outputs.append(Value("det", "float32", ()))
    answers = EthosUBackend().get_capability(graph)
    declines = {a.node: a.reason for a in answers if isinstance(a, Decline)}
    assert declines["det"].startswith("not exportable to TFLite: ")
    assert [len(a.nodes) for a in answers if isinstance(a, Claim)] == [2, 4]


def test_benchmark_prints_the_npu_estimate_beside_host_time(tmp_path, capsys):
    path = tmp_path / "split.tflite"
    path.write_bytes(split_cnn())
    assert cli_main(["benchmark", str(path), "--backends", "ethos-u", "--loops", "2"]) == 0
    out = capsys.readouterr().out
    assert "partition estimates" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("ethos-u_partition_")]
    rows = [r for r in rows if "ethos-u55-128" in r]
    assert len(rows) == 2
    for row in rows:
        est_ms, host_ms = float(row[-6]), float(row[-1])
        assert 0 < est_ms < 1 and host_ms > 0


def test_benchmark_json_carries_the_partition_estimates(tmp_path, capsys):
    import json

    path = tmp_path / "split.tflite"
    path.write_bytes(split_cnn())
    argv = ["benchmark", str(path), "--backends", "ethos-u", "--loops", "2", "--json"]
    assert cli_main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    records = data["partition_estimates"]
    assert sorted(r["partition"] for r in records) == ["ethos-u_partition_0", "ethos-u_partition_1"]
    for record in records:
        assert record["target"].startswith("ethos-u55-128") and record["cycles"] > 0
        assert 0 < record["ms"] < 1 and record["host_ms"] > 0 and record["npu_operators"] >= 1
        assert record["sram_bytes"] > 0 and record["vela_version"]


def test_explain_shows_vela_reason(tmp_path, capsys):
    path = tmp_path / "split.tflite"
    path.write_bytes(split_cnn())
    assert cli_main(["explain", str(path), "--backends", "ethos-u", "-O", "0"]) == 0
    out = capsys.readouterr().out
    assert "Vela: GATHER: Unsupported opType" in out


def test_session_outputs_equal_the_reference(monkeypatch):
    x = np.random.default_rng(5).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)
    npu = gossamer.load(split_cnn(), backends=["ethos-u"]).run(None, {"serving_default_x:0": x})
    ref = gossamer.load(split_cnn(), backends=[]).run(None, {"serving_default_x:0": x})
    np.testing.assert_array_equal(npu[0], ref[0])


def test_a_target_vela_does_not_know_makes_it_unavailable_with_the_reason(monkeypatch):
    monkeypatch.setenv("GOSSAMER_ETHOSU_MEMORY_MODE", "Huge_Sram")
    assert "GOSSAMER_ETHOSU_MEMORY_MODE='Huge_Sram'" in EthosUBackend().is_available()
    with pytest.raises(gossamer.GossamerError, match="Shared_Sram"):
        gossamer.load(split_cnn(), backends=["ethos-u"])
