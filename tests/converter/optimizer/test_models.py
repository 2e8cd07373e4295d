"""Every pass preserves semantics on the shared real models and the benchmark models.

The reference runs each model before and after optimisation (each level, and each pass on its own)
on the same seeded inputs; float outputs agree within rtol 1e-4 of the output's scale (folding
BatchNormalization into weights and fusing reductions change rounding only), others exactly.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer import PASSES, optimize

import gossamer
from gossamer import builtin_models
from tests.conftest import MODELS_DIR, ONNX_MODELS
from tests.test_real_models import _feeds

from ._helpers import assert_same_outputs

BENCHMARK_MODELS = ["tiny_cnn", "mobilenet_v2", "resnet18", "minilm_encoder"]
MODELS = [pytest.param(m, marks=pytest.mark.models) for m in ONNX_MODELS] + BENCHMARK_MODELS


@cache
def _baseline(name: str) -> tuple:
    """(graph, feeds, outputs of the unoptimised graph), built once per model."""
    if name in BENCHMARK_MODELS:
        graph = graph_from_onnx(getattr(builtin_models, name)())
    else:
        graph = graph_from_onnx(MODELS_DIR / name)
    sess = gossamer.load(graph)
    feeds = _feeds(name, sess)
    if name == "minilm_encoder":
        rng = np.random.default_rng(0)
        feeds["input_ids"] = rng.integers(0, 1000, (1, 128)).astype(np.int64)
        feeds["attention_mask"] = (rng.random((1, 128)) < 0.9).astype(np.int64)
    return graph, feeds, sess.run(None, feeds)


def _check(name: str, **how) -> object:
    graph, feeds, expected = _baseline(name)
    optimized, report = optimize(graph, **how)
    assert_same_outputs(expected, gossamer.load(optimized).run(None, feeds))
    return report


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("name", MODELS)
def test_optimized_model_computes_what_the_original_computes(models_dir, name, level):
    report = _check(name, level=level)
    # gather push-down trades Cast, Mul, Gather for Gather, Cast, Mul (+ a Gather of the scales)
    assert report.nodes_after <= report.nodes_before + report.changed("gather_pushdown")


@pytest.mark.parametrize("pass_name", sorted(PASSES))
@pytest.mark.parametrize("name", MODELS)
def test_each_pass_alone_preserves_the_models_outputs(models_dir, name, pass_name):
    graph, _, _ = _baseline(name)
    # run the pass after O1 cleanup, where fusion passes find their patterns, and on its own
    prepared, _ = optimize(graph, level=1) if PASSES[pass_name].level > 1 else (graph, None)
    _, report = optimize(prepared, passes=[pass_name])
    if not report.changed(pass_name):
        pytest.skip(f"{pass_name} changes nothing in {name}")
    _, feeds, expected = _baseline(name)
    after, _ = optimize(prepared, passes=[pass_name])
    assert_same_outputs(expected, gossamer.load(after).run(None, feeds))


@pytest.mark.parametrize(
    "name,passes",
    [
        ("mobilenet_v2", {"batchnorm_folding": 52, "activation_fusion": 35}),
        ("resnet18", {"batchnorm_folding": 20, "residual_fusion": 8, "activation_fusion": 17}),
        ("minilm_encoder", {"gelu_fusion": 6, "bias_fusion": 36, "matmul_batching": 6}),
        pytest.param("ppocrv4_rec.onnx", {"layernorm_fusion": 5}, marks=pytest.mark.models),
        pytest.param("nudenet_320n_yolov8n.onnx", {"swish_fusion": 57}, marks=pytest.mark.models),
    ],
)
def test_o3_finds_the_patterns_the_model_is_known_to_contain(models_dir, name, passes):
    graph, _, _ = _baseline(name)
    _, report = optimize(graph, level=3)
    assert {p: report.changed(p) for p in passes} == passes


def _structure(graph) -> tuple:
    """What a graph is, for comparing two optimisations of it (the content key plus the
    initializers' values, which the key holds by identity where they are large)."""
    from gossamer.refimpl.shape_inference.content_key import content_key

    values = tuple((k, np.asarray(v).tobytes()) for k, v in graph.initializers.items())
    return content_key(graph)[:2] + (values,) + content_key(graph)[3:]


EXPANDED = pytest.param("minilm_l6_int8 expanded", marks=pytest.mark.models)


@pytest.mark.parametrize("name", [*MODELS, EXPANDED])
def test_the_pipeline_reusing_inferences_optimises_as_inferring_each_time(
    models_dir, name, monkeypatch
):
    """The pipeline infers shapes again only where a pass changed the graph (shapes_by_content):
    the same graph comes out as where every pass infers its own (the memo turned off)."""
    from contextlib import nullcontext

    from gossamer.converter.optimizer import pipeline
    from gossamer.converter.optimizer.weight_expansion import expand_stored_weights

    if name.endswith(" expanded"):  # what a load optimises: the int8 weights folded to float32
        graph = expand_stored_weights(graph_from_onnx(MODELS_DIR / f"{name.split()[0]}.onnx"))
    else:
        graph, _, _ = _baseline(name)
    reused, _ = optimize(graph, level=3)
    monkeypatch.setattr(pipeline, "shapes_by_content", nullcontext)
    inferred, _ = optimize(graph, level=3)
    assert _structure(reused) == _structure(inferred)
