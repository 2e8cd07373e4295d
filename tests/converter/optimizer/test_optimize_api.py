"""optimize(): levels, the report, the untouched input, .gsm round trip, `gossamer optimize`."""

import json

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer import PASSES, PIPELINE, optimize
from gossamer.refimpl.model_format import load_gsm, save_gsm

from gossamer.builtin_models import tiny_cnn
from gossamer.cli import main

from ._helpers import assert_same_outputs, feeds_for, graph_of, node, ops, run


@pytest.fixture(scope="module")
def cnn():
    return graph_from_onnx(tiny_cnn(size=16))


def test_level_zero_changes_nothing(cnn):
    out, report = optimize(cnn, 0)
    assert ops(out) == ops(cnn) and report.passes == []


def test_each_level_runs_only_passes_of_that_level_or_below(cnn):
    for level in range(4):
        _, report = optimize(cnn, level)
        assert {p.level for p in report.passes} <= set(range(1, level + 1))
    _, report = optimize(cnn, 3)
    assert [p.name for p in report.passes] == [p.name for p in PIPELINE]


def test_optimize_leaves_its_input_graph_untouched(cnn):
    before = [(n.op_type, list(n.inputs), list(n.outputs)) for n in cnn.nodes]
    optimize(cnn, 3)
    assert [(n.op_type, list(n.inputs), list(n.outputs)) for n in cnn.nodes] == before


def test_report_counts_changes_and_node_totals(cnn):
    out, report = optimize(cnn, 2)
    assert report.nodes_before == len(cnn.nodes) and report.nodes_after == len(out.nodes)
    assert report.changed("batchnorm_folding") == 7
    text = report.format()
    assert "batchnorm_folding" in text and f"{len(cnn.nodes)} -> {len(out.nodes)} nodes" in text
    assert json.loads(out.metadata["gossamer.optimize"])["passes"]["batchnorm_folding"] == 7


def test_unknown_pass_or_level_is_rejected(cnn):
    with pytest.raises(ValueError, match="unknown pass"):
        optimize(cnn, passes=["no_such_pass"])
    with pytest.raises(ValueError, match="level"):
        optimize(cnn, 4)


def test_every_pass_module_documents_its_rewrite_and_preconditions():
    for p in PASSES.values():
        assert "Rewrite:" in p.doc and "Precondition" in p.doc, p.name


def test_optimized_graph_survives_a_gsm_round_trip(cnn, tmp_path):
    out, _ = optimize(cnn, 3)
    save_gsm(out, tmp_path / "m.gsm")
    loaded = load_gsm(tmp_path / "m.gsm")
    feeds = feeds_for(cnn)
    assert ops(loaded) == ops(out) and loaded.opsets.get("gossamer") == 1
    assert_same_outputs(run(cnn, feeds), run(loaded, feeds))


def test_cli_optimize_writes_the_model_and_prints_the_report(tmp_path, capsys):
    src = tmp_path / "cnn.onnx"
    src.write_bytes(tiny_cnn(size=16).SerializeToString())
    dst = tmp_path / "cnn.gsm"
    assert main(["optimize", str(src), "-o", str(dst), "-O2"]) == 0
    printed = capsys.readouterr().out
    assert "optimisation level -O2" in printed and "activation_fusion" in printed
    graph = load_gsm(dst)
    assert "gossamer::FusedConv" in ops(graph)
    image = np.random.default_rng(0).random((1, 3, 16, 16), dtype=np.float32)
    assert run(graph, {"image": image})[0].shape == (1, 10)


def test_the_optimized_graph_is_in_topological_order():
    # residual fusion puts FusedConv where the Conv stood, ahead of the Sigmoid producing z
    w = np.random.default_rng(0).standard_normal((4, 4, 1, 1)).astype(np.float32)
    g = graph_of(
        [node("Conv", ["x", "w"], ["c"]), node("Sigmoid", ["x"], ["z"]),
         node("Add", ["c", "z"], ["y"])],
        [("x", [1, 4, 3, 3])],
        [("y", [1, 4, 3, 3])],
        {"w": w},
    )  # fmt: skip
    out, report = optimize(g, passes=["residual_fusion"])
    assert report.changed("residual_fusion") == 1
    assert [n.op_type for n in out.nodes] == ["Sigmoid", "FusedConv"]
