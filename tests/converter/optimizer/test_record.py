"""The optimised-level record `optimize` leaves in the metadata (converter/optimizer/record.py):
written for a level's whole pipeline, trusted only while the graph and the optimiser are the ones
it names."""

from __future__ import annotations

import json

import pytest
from gossamer.converter.optimizer import optimize, record
from gossamer.refimpl.ir import Graph, Node, Value

from tests.conftest import matmul_relu_graph


@pytest.mark.parametrize("level", [1, 2, 3])
def test_optimize_records_the_level_it_ran(level):
    optimized, _ = optimize(matmul_relu_graph(), level)
    assert record.optimized_level(optimized) == level


def test_an_unoptimised_graph_has_no_level():
    assert record.optimized_level(matmul_relu_graph()) == 0


def test_level_zero_writes_no_record():
    optimized, _ = optimize(matmul_relu_graph(), 0)
    assert record.KEY not in optimized.metadata


def test_a_chosen_list_of_passes_writes_no_record():
    optimized, _ = optimize(matmul_relu_graph(), 3, passes=["dead_node_elimination"])
    assert record.optimized_level(optimized) == 0


def test_a_graph_edited_after_optimisation_is_not_trusted():
    optimized, _ = optimize(matmul_relu_graph(), 3)
    optimized.nodes.append(Node("Relu", ["y"], ["y2"], {}, "extra"))
    assert record.optimized_level(optimized) == 0


def test_an_attribute_edited_after_optimisation_is_not_trusted():
    graph = matmul_relu_graph()
    graph.nodes.append(Node("Softmax", ["y"], ["z"], {"axis": 1}, "sm"))
    graph.outputs = [Value("z", "float32", (2, 3))]
    optimized, _ = optimize(graph, 3)
    assert record.optimized_level(optimized) == 3
    next(n for n in optimized.nodes if n.op_type == "Softmax").attrs["axis"] = 0
    assert record.optimized_level(optimized) == 0


def test_a_record_of_another_optimiser_is_not_trusted(monkeypatch):
    optimized, _ = optimize(matmul_relu_graph(), 3)
    data = json.loads(optimized.metadata[record.KEY])
    data["optimizer"] = "0" * 16
    optimized.metadata[record.KEY] = json.dumps(data)
    assert record.optimized_level(optimized) == 0


def _forged(graph: Graph, **fields: object) -> str:
    data = {"level": 3, "optimizer": record.optimizer_version()}
    data["graph"] = record.graph_fingerprint(graph)
    data.update(fields)
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[3]",
        "3",
        '{"level": 3}',
        "[" * 5000 + "]" * 5000,
        "FORGED_LEVEL_STR",
        "FORGED_LEVEL_7",
        "FORGED_LEVEL_TRUE",
        "FORGED_LEVEL_FLOAT",
        "FORGED_HUGE",
    ],
)
def test_malformed_or_hostile_records_count_as_not_optimised(text):
    graph = matmul_relu_graph()
    forged = {
        "FORGED_LEVEL_STR": _forged(graph, level="3"),
        "FORGED_LEVEL_7": _forged(graph, level=7),
        "FORGED_LEVEL_TRUE": _forged(graph, level=True),
        "FORGED_LEVEL_FLOAT": _forged(graph, level=3.0),
        "FORGED_HUGE": _forged(graph, padding="x" * 5000),
    }
    graph.metadata[record.KEY] = forged.get(text, text)
    assert record.optimized_level(graph) == 0


def test_a_well_formed_record_of_the_graph_as_it_is_is_trusted():
    graph = matmul_relu_graph()
    graph.metadata[record.KEY] = _forged(graph, level=2)
    assert record.optimized_level(graph) == 2


def test_optimizer_version_is_a_checksum_of_the_sources():
    version = record.optimizer_version()
    assert isinstance(version, str) and len(version) == 16
