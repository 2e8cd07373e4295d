"""Subgraph-backend bugs only the graph-level cases can see: a partition returning its outputs in
the wrong order, or dropping outputs that are also read inside it. Per-op cells (one-node graphs,
one output per partition) pass; the graph cases with multi-output partitions fail."""

from __future__ import annotations

import pytest
from gossamer.conformance.graph_cases import GRAPH_CASES, run_graph_cases

from .conftest import verdicts

# What the fusers claim in one-node graphs; each one-node partition has one output.
FUSED_OPS = ["Relu", "Sigmoid", "Tanh", "Exp", "Add", "Mul", "Neg", "Abs", "MatMul", "ReduceSum"]
# Graph cases whose fused partition has several outputs (chain's partition has one).
MULTI_OUTPUT = {
    "graph:shared_input",
    "graph:intermediate_output",
    "graph:diamond_constant",
    "graph:mlp",
}


def graph_verdicts(backend: str) -> dict[str, str]:
    return {c.case_id: c.status for c in run_graph_cases(backend)}


def test_correct_fuser_passes_every_graph_case():
    assert graph_verdicts("correct_fuser") == {f"graph:{g}": "pass" for g in GRAPH_CASES}


@pytest.mark.parametrize("backend", ["correct_fuser", "swapped_outputs", "dropped_outputs"])
def test_op_cells_cannot_see_partition_output_bugs(conformance, backend):
    doc = conformance(backend, FUSED_OPS, max_examples=3)
    got = verdicts(doc)
    assert {k[0] for k in got} >= set(FUSED_OPS)
    assert set(got.values()) == {"pass"}
    assert doc["rc"] == 0


def test_swapped_partition_outputs_fail_the_multi_output_graph_cases():
    cells = {c.case_id: c for c in run_graph_cases("swapped_outputs")}
    assert {k: c.status for k, c in cells.items()} == {
        k: "fail" if k in MULTI_OUTPUT else "pass" for k in cells
    }
    bad = cells["graph:intermediate_output"]
    assert "output 0: max abs" in bad.message  # mm and neg traded places
    assert "output 2: shape [4, 3] != expected []" in bad.message
    assert "backends=['swapped_outputs']" in bad.repro and "Node('ReduceSum'" in bad.repro


def test_dropped_intermediate_outputs_fail_the_multi_output_graph_cases():
    cells = {c.case_id: c for c in run_graph_cases("dropped_outputs")}
    assert {k: c.status for k, c in cells.items()} == {
        k: "fail" if k in MULTI_OUTPUT else "pass" for k in cells
    }
    message = cells["graph:intermediate_output"].message
    assert "dropped_outputs raised NodeExecutionError" in message
    assert "dropped_outputs returned 2 outputs, the node names 4" in message
