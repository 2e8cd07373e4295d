"""`gossamer explain`: the fallback summary first, per node or per op type (--summary), filters
(--op, --backend, --fallback) and the optimisation level (-O)."""

from __future__ import annotations

import numpy as np
import pytest

from gossamer.cli import main

from ._fallback_models import conv_mlp


@pytest.fixture
def fp64_model(tmp_path):
    path = tmp_path / "fp64.onnx"
    path.write_bytes(conv_mlp(np.float64))
    return path


def explain(capsys, *argv: str) -> list[str]:
    assert main(["explain", *argv]) == 0
    captured = capsys.readouterr()
    assert "PerformanceWarning" not in captured.err  # explain prints the summary itself
    return [" ".join(line.split()) for line in captured.out.splitlines()]


def test_explain_starts_with_the_fallback_summary(fp64_model, capsys):
    lines = explain(capsys, str(fp64_model), "--backends", "cython", "-O", "0")
    assert lines[:4] == [
        "100 % of estimated FLOPs (3 of 4 nodes) run on the reference",
        "cython declined 3 of them:",
        "2 dtype float64 not supported (kernel takes float16, float32)",
        "1 dtype float64 not supported (kernel takes float32)",
    ]
    assert (
        "conv Conv reference cython: dtype float64 not supported (kernel takes float16, float32)"
        in lines
    )
    assert "summary: 4 nodes; reference: 3 node(s) (75 %), cython: 1 node(s) (25 %)" in lines


def test_summary_has_a_row_per_op_type_and_backend_sorted_by_flops(fp64_model, capsys):
    lines = explain(capsys, str(fp64_model), "--backends", "cython", "-O", "0", "--summary")
    table = lines[lines.index("op type backend nodes FLOPs declined by") + 1 :]
    assert table[:4] == [
        "Conv reference 1 72.0 % cython: dtype float64 not supported (kernel takes float16, "
        "float32) (1)",
        "MatMul reference 1 26.7 % cython: dtype float64 not supported (kernel takes float16, "
        "float32) (1)",
        "Relu reference 1 1.3 % cython: dtype float64 not supported (kernel takes float32) (1)",
        "Reshape cython 1 0.0 %",
    ]
    assert "summary: 4 nodes; reference: 3 node(s) (100 % of FLOPs), cython: 1 node(s) (0 % of " \
        "FLOPs)" in table  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "nodes"),
    [
        (["--op", "Conv", "--op", "MatMul"], ["conv", "fc"]),
        (["--backend", "cython"], ["flatten"]),
        (["--fallback"], ["conv", "relu", "fc"]),
        (["--fallback", "--op", "Reshape"], []),
    ],
)
def test_filters_show_only_the_selected_nodes(fp64_model, capsys, filters, nodes):
    lines = explain(capsys, str(fp64_model), "--backends", "cython", "-O", "0", *filters)
    if not nodes:
        assert any(line.startswith("no node matches --op Reshape --fallback") for line in lines)
        return
    start = lines.index("node op backend why the others declined") + 1
    shown = lines[start : lines.index("", start)]
    assert [line.split()[0] for line in shown] == nodes
    assert f"(showing {len(nodes)} of 4 nodes: {' '.join(filters)})" in lines


def test_fallback_with_the_reference_only_shows_nothing(fp64_model, capsys):
    lines = explain(capsys, str(fp64_model), "--backends", "reference", "-O", "0", "--fallback")
    assert lines[0] == "all 4 nodes run on the reference (no other backend took part)"
    assert lines[2].startswith("no node matches --fallback")


def test_optimisation_level_changes_what_is_explained(fp64_model, capsys):
    level0 = explain(capsys, str(fp64_model), "--backends", "cython", "-O", "0", "--summary")
    level3 = explain(capsys, str(fp64_model), "--backends", "cython", "-O", "3", "--summary")
    assert any(line.startswith("Relu reference") for line in level0)
    assert not any(line.startswith("Relu ") for line in level3)  # fused into the convolution
    assert level3[0] == "100 % of estimated FLOPs (2 of 3 nodes) run on the reference"


def test_an_unknown_backend_filter_is_a_one_line_error(fp64_model, capsys):
    assert main(["explain", str(fp64_model), "--backend", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("gossamer explain: error: unknown backend(s) ['nope']; registered:")
