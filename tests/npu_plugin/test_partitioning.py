"""Partitioning: Vela's own verdicts decide, the partitions are maximal and convex, the CPU nodes
carry Vela's reasons, and the split agrees with Vela's summary of the same model."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from gossamer.converter.tflite.reader import read_tflite
from gossamer.npu_plugin.partitioning import claims
from gossamer.plugins.explain import format_placement
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .models import split_cnn

pytestmark = pytest.mark.usefixtures("ethos_u")
OP_INDEX = re.compile(r"_(\d+)__\d+$")  # the TFLite importer names nodes <opcode>_<index>__<n>


def vela_cli(path, *args) -> str:
    """Vela's own console output for a model file (its network summary)."""
    done = subprocess.run(
        [sys.executable, "-m", "ethosu.vela", str(path), "--output-dir", str(path.parent / "o"),
         *args], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def summary_count(stdout: str, kind: str) -> int:
    return int(re.search(rf"{kind} operators = (\d+)", stdout).group(1))


def ops_of(nodes) -> set[int]:
    return {int(OP_INDEX.search(n).group(1)) for n in nodes}


@pytest.mark.parametrize("accelerator", ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"])
def test_split_agrees_with_vela_summary_of_the_model(tmp_path, monkeypatch, accelerator):
    monkeypatch.setenv("GOSSAMER_ETHOSU_ACCELERATOR", accelerator)
    path = tmp_path / "split.tflite"
    path.write_bytes(split_cnn())
    summary = vela_cli(path, "--accelerator-config", accelerator)
    listed = vela_cli(path, "--accelerator-config", accelerator, "--show-cpu-operations")
    cpu_tensors = set(re.findall(r"CPU: \w+ = (\S+)", listed))
    sess = gossamer.load(path, backends=["ethos-u"], optimize=0)
    on_cpu = [n for n, b in sess.placement.backend_of.items() if b != "ethos-u"]
    producers = {o: n.name for n in sess.graph.nodes for o in n.outputs}
    assert sorted(on_cpu) == sorted(producers[t] for t in cpu_tensors)
    assert len(ops_of(on_cpu)) == summary_count(summary, "CPU")
    npu = [n for n, b in sess.placement.backend_of.items() if b == "ethos-u"]
    assert len(npu) == summary_count(summary, "NPU")  # one node per operator in this model


def test_a_u55_splits_around_the_op_it_cannot_run():
    parts = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0).placement.partitions
    assert [c.nodes for _, c in parts] == [
        ("conv_2d_1__10", "depthwise_conv_2d_2__17"),
        ("conv_2d_4__25", "conv_2d_5__32", "add_6__39", "average_pool_2d_7__42"),
    ]


def test_the_reason_is_the_one_vela_gives_for_the_target(monkeypatch):
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert sess.placement.declined["gather_3__18"]["ethos-u"] == "Vela: GATHER: Unsupported opType"
    monkeypatch.setenv("GOSSAMER_ETHOSU_ACCELERATOR", "ethos-u85-256")
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert sess.placement.declined["gather_3__18"]["ethos-u"] == (
        "Vela: GATHER: axis: 3 != batch_dims: 0"  # the U85 runs GATHER, but not on this axis
    )


def test_every_cpu_node_shows_vela_reason_in_explain():
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    declined = sess.placement.declined
    assert declined["gather_3__18"]["ethos-u"] == "Vela: GATHER: Unsupported opType"
    assert "unsupported DataType Float32" in declined["quantize_0__3"]["ethos-u"]
    text = format_placement(sess.graph, sess.placement)
    assert "Vela: GATHER: Unsupported opType" in text and "Vela: DEQUANTIZE" in text


def test_minimum_partition_size_is_honoured(monkeypatch):
    monkeypatch.setenv("GOSSAMER_ETHOSU_MIN_PARTITION", "3")
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert [len(c.nodes) for _, c in sess.placement.partitions] == [4]
    assert (
        sess.placement.declined["conv_2d_1__10"]["ethos-u"] == "partition too small (2 < 3 nodes)"
    )


def test_shared_model_claims_every_operator_vela_puts_on_the_npu(mww, tmp_path):
    """mww's resource variables are Gossamer state (model inputs and outputs, no nodes): Vela
    leaves exactly those operators (and the initialising subgraph) on the CPU, and every other
    operator of the file is claimed."""
    stdout = vela_cli(mww, "--accelerator-config", "ethos-u55-128")
    model = read_tflite(mww.read_bytes())
    variable_ops = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}
    plumbing = [op for sg in model.subgraphs for op in sg.operators if op.opcode in variable_ops]
    assert summary_count(stdout, "CPU") == len(plumbing)
    compute = {op.index for op in model.subgraphs[0].operators if op.opcode not in variable_ops}
    sess = gossamer.load(mww, backends=["ethos-u"], optimize=0)
    claimed = [n for n, b in sess.placement.backend_of.items() if b == "ethos-u"]
    assert ops_of(n for n in claimed if OP_INDEX.search(n)) >= compute
    assert len(sess.placement.partitions) == 1


# ---- convexity (the grouping alone, on plain graphs) ----------------------------------------
def _chain(edges: list[tuple[str, list[str]]]) -> Graph:
    nodes = [
        Node("Relu" if len(ins) == 1 else "Add", ins, [name], name=name) for name, ins in edges
    ]
    return Graph(nodes=nodes, inputs=[Value("x", "float32", (2,))],
                 outputs=[Value(edges[-1][0], "float32", (2,))], opsets={"": 17})  # fmt: skip


def test_a_cpu_node_between_npu_nodes_with_a_bypass_splits_them():
    g = _chain([("a", ["x"]), ("cpu", ["a"]), ("c", ["cpu", "a"])])
    assert claims(g, {"a", "c"}) == [("a",), ("c",)]


def test_a_cpu_node_fed_only_by_model_inputs_splits_nothing():
    g = _chain([("state", ["x"]), ("a", ["x"]), ("b", ["a", "state"]), ("c", ["b"])])
    assert claims(g, {"a", "b", "c"}) == [("a", "b", "c")]


def test_partitions_are_always_convex_for_the_planner(use_random_dags):
    for graph, on_npu in use_random_dags:
        for group in claims(graph, on_npu):
            assert _convex(graph, set(group)), (group, on_npu)


def _convex(graph: Graph, part: set[str]) -> bool:
    from gossamer.plugins.planner import _is_convex, _successors

    return _is_convex(part, _successors(graph))


@pytest.fixture
def use_random_dags():
    rng = np.random.default_rng(0)
    out = []
    for _ in range(200):
        n = int(rng.integers(3, 12))
        edges = []
        for i in range(n):
            k = int(rng.integers(1, 3)) if i else 1
            ins = ["x"] if i == 0 else sorted({f"n{int(j)}" for j in rng.integers(0, i, k)})
            edges.append((f"n{i}", ins if len(ins) <= 2 else ins[:2]))
        graph = _chain(edges)
        on_npu = {name for name, _ in edges if rng.random() < 0.6}
        out.append((graph, on_npu))
    return out


def test_an_operator_whose_semantics_vela_rejects_is_declined_and_the_rest_retried(monkeypatch):
    """Vela stops at the first operator whose TFLite semantics it rejects (a float HARD_SWISH,
    say) instead of leaving it to the CPU: that node is declined with Vela's words, the rest is
    exported and checked again."""
    from gossamer.npu_plugin import backend as npu_backend
    from gossamer.npu_plugin.vela_runner import VelaError

    real, calls = npu_backend.compiled, []

    def rejects_d1_once(tflite, config):
        calls.append(tflite)
        if len(calls) == 1:
            raise VelaError("Vela failed (exit 1)", {"d1": "DEPTHWISE_CONV_2D: made up semantics"})
        return real(tflite, config)

    monkeypatch.setattr(npu_backend, "compiled", rejects_d1_once)
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    declined = sess.placement.declined["depthwise_conv_2d_2__17"]["ethos-u"]
    assert declined == "Vela: DEPTHWISE_CONV_2D: made up semantics"
    assert [c.nodes for _, c in sess.placement.partitions] == [
        ("conv_2d_1__10",),
        ("conv_2d_4__25", "conv_2d_5__32", "add_6__39", "average_pool_2d_7__42"),
    ]
