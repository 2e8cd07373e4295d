"""The optimised-level record travels in a .gsm's metadata: kept by a save/load round trip,
absent from older files (which still load), and never trusted when it does not fit the file."""

from __future__ import annotations

import json

from gossamer.converter.optimizer import optimize, record
from gossamer.refimpl.ir import Node
from gossamer.refimpl.model_format import load_gsm, save_gsm

from tests.conftest import matmul_relu_graph


def test_the_record_survives_a_save_and_load(tmp_path):
    graph, _ = optimize(matmul_relu_graph(bias=False), 3)
    save_gsm(graph, tmp_path / "m.gsm")
    loaded = load_gsm(tmp_path / "m.gsm")
    assert loaded.metadata[record.KEY] == graph.metadata[record.KEY]
    assert record.optimized_level(loaded) == 3


def test_a_file_without_the_record_loads_and_counts_as_not_optimised(tmp_path):
    save_gsm(matmul_relu_graph(bias=False), tmp_path / "m.gsm")
    loaded = load_gsm(tmp_path / "m.gsm")
    assert record.KEY not in loaded.metadata
    assert record.optimized_level(loaded) == 0


def test_a_record_copied_into_another_file_is_not_trusted(tmp_path):
    graph, _ = optimize(matmul_relu_graph(bias=False), 3)
    other = matmul_relu_graph(bias=False)
    other.nodes[1] = Node("Sigmoid", ["m"], ["y"], {}, "sig")
    other.metadata[record.KEY] = graph.metadata[record.KEY]
    save_gsm(other, tmp_path / "m.gsm")
    assert record.optimized_level(load_gsm(tmp_path / "m.gsm")) == 0


def test_the_record_is_small_plain_json(tmp_path):
    graph, _ = optimize(matmul_relu_graph(bias=False), 2)
    data = json.loads(graph.metadata[record.KEY])
    assert set(data) == {"level", "optimizer", "graph"} and data["level"] == 2
    assert len(graph.metadata[record.KEY]) < 200
