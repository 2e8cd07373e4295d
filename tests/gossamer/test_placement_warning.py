"""The load-time report on the real backends: a model whose work mostly falls back to the
reference while the cython backend takes part says so once, with counts and reasons."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gossamer

from ._fallback_models import CONV_FLOPS, MATMUL_FLOPS, RELU_FLOPS, conv_mlp, det_model


def performance_warnings(model: bytes, **options) -> tuple[gossamer.Session, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sess = gossamer.load(model, optimize=0, **options)
    return sess, [
        str(w.message) for w in caught if issubclass(w.category, gossamer.PerformanceWarning)
    ]


def test_fp64_model_on_cython_warns_once_with_the_fallback_share_and_reason():
    sess, messages = performance_warnings(conv_mlp(np.float64), backends=["cython"])
    assert len(messages) == 1
    assert messages[0].startswith(
        "model 'test': 100 % of estimated FLOPs (3 of 4 nodes) run on the reference: cython "
        "declined 3 nodes: dtype float64 not supported (kernel takes float16, float32) (2), dtype "
        "float64 not supported (kernel takes float32) (1)"
    )
    report = sess.placement_report()
    assert {n.node: n.backend for n in report.nodes} == {
        "conv": "reference",
        "relu": "reference",
        "flatten": "cython",  # a data-movement kernel takes any fixed-size dtype
        "fc": "reference",
    }
    assert report.total_flops == CONV_FLOPS + RELU_FLOPS + MATMUL_FLOPS


def test_the_same_model_in_fp32_runs_on_cython_without_a_warning():
    sess, messages = performance_warnings(conv_mlp(np.float32), backends=["cython"])
    assert messages == []
    assert sess.placement.summary() == {"cython": 4}


@pytest.mark.parametrize("backends", [["reference"], None])  # None: GOSSAMER_BACKENDS=reference
def test_fp64_model_on_the_reference_only_does_not_warn(backends):
    assert performance_warnings(conv_mlp(np.float64), backends=backends)[1] == []


def test_dynamic_batch_counts_nodes_and_says_flops_are_unknown():
    _, messages = performance_warnings(conv_mlp(np.float64, batch="N"), backends=["cython"])
    assert len(messages) == 1
    assert messages[0].startswith(
        "model 'test': 3 of 4 nodes (3 of 3 computing nodes) run on the reference; FLOPs unknown "
        "(input(s) x have symbolic dims): cython declined 3 nodes"
    )


def test_an_op_without_a_cython_kernel_is_named():
    _, messages = performance_warnings(det_model(), backends=["cython"], threads=2)
    assert len(messages) == 1
    assert "cython declined 1 node: no kernel for Det (1)" in messages[0]


def test_the_nodes_a_load_skips_the_report_for_cost_nothing():
    from gossamer.refimpl.model_stats import _FREE

    from gossamer.session import _COSTS_NOTHING

    assert _COSTS_NOTHING <= _FREE  # (the report's FLOPs: 0, so never the reference's work)


def test_a_load_whose_reference_nodes_cost_nothing_makes_no_report(monkeypatch):
    from gossamer.plugins import placement_report

    from gossamer.session import _reference_computes

    def no_report(*args):  # noqa: ANN002, ANN202
        raise AssertionError("report made")

    monkeypatch.setattr(placement_report, "warn_if_mostly_reference", no_report)
    sess = gossamer.load(conv_mlp(np.float32), optimize=0, backends=["cython"])
    graph = sess.graph
    assert not _reference_computes(graph, {n.name: "cython" for n in graph.nodes})
    shape_only = {n.name: "reference" if n.op_type == "Flatten" else "cython" for n in graph.nodes}
    assert not _reference_computes(graph, shape_only)
    conv_too = {**shape_only, "conv": "reference"}
    assert _reference_computes(graph, conv_too)
    with pytest.raises(AssertionError, match="report made"):  # fp64: the convs fall back
        gossamer.load(conv_mlp(np.float64), optimize=0, backends=["cython"])
