"""What `gossamer optimize` + export writes runs in onnxruntime and computes what the original does.

For every built-in model (at small sizes) and every real ONNX model in the cache (skipped when
absent), at -O0 .. -O3: optimise, export to ONNX (fused gossamer ops become model-local functions),
run the file in onnxruntime with its graph optimisations disabled and enabled, and compare with
onnxruntime on the original model and with Gossamer on the exported file read back (which must
restore the optimiser's fused ops).

Tolerance (float outputs): rtol 1e-3 and atol 1e-4 x the output's largest magnitude (at least 1).
Float32 through dozens of layers in two kernel libraries (MLAS, numpy's BLAS), with different op
groupings (folded BatchNormalization, fused epilogues, decomposed function bodies), differs by
accumulated rounding: at most 3e-5 of the output's scale on these models (silero's recurrence),
so the bound leaves a margin of 3, while a wrong attribute or activation moves outputs by
percents. The relative part is test_real_models' rtol. Other outputs must be equal.
"""

from __future__ import annotations

import inspect
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_export import graph_to_onnx
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer import optimize
from gossamer.refimpl.ir import Graph
from gossamer.refimpl.model_format import save_gsm

import gossamer
from gossamer import builtin_models
from gossamer.commands.inputs import random_input
from tests.conftest import MODELS_DIR, ONNX_MODELS
from tests.test_real_models import _feeds

ort = pytest.importorskip("onnxruntime")

BUILTINS = sorted(
    name
    for name, fn in inspect.getmembers(builtin_models, inspect.isfunction)
    if not name.startswith("_") and fn.__module__ == builtin_models.__name__
)
# Small enough that every model runs in seconds on the reference; the structure is unchanged.
SMALL: dict[str, dict] = {
    "tiny_cnn": {"size": 16},
    "mobilenet_v2": {"size": 32},
    "resnet18": {"size": 32},
    "resnet50": {"size": 32, "classes": 10},
    "squeezenet1_1": {"size": 48},
    "minilm_encoder": {"layers": 2, "seq": 16, "vocab": 100},
    "lstm": {"layers": 2, "hidden": 16, "steps": 4, "features": 8},
}
# Smaller inputs than test_real_models' for the slowest real models (their dims are symbolic).
SMALL_INPUTS = {
    "nudenet_320n_yolov8n.onnx": {"images": (1, 3, 160, 160)},
    "ppocrv4_rec.onnx": {"x": (1, 3, 48, 160)},
}
MODELS = BUILTINS + [pytest.param(m, marks=pytest.mark.models) for m in ONNX_MODELS]
LEVELS = [0, 1, 2, 3]
ORT_LEVELS = {"disabled": "ORT_DISABLE_ALL", "enabled": "ORT_ENABLE_ALL"}
INT8_MODEL = "minilm_l6_int8.onnx"


def _model_bytes(name: str) -> bytes:
    if name in BUILTINS:
        return getattr(builtin_models, name)(**SMALL.get(name, {})).SerializeToString()
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not in {MODELS_DIR}")
    return path.read_bytes()


def _ort(model: bytes, feeds: dict, level: str = "disabled") -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ORT_LEVELS[level])
    return ort.InferenceSession(model, options, ["CPUExecutionProvider"]).run(None, feeds)


@cache
def _original(name: str) -> tuple[Graph, dict, list[np.ndarray]]:
    """(the model as a graph, seeded feeds, onnxruntime's outputs on the original file)."""
    data = _model_bytes(name)
    graph = graph_from_onnx(data)
    sess = gossamer.load(graph, optimize=0)
    feeds = _feeds(name, sess)
    rng = np.random.default_rng(0)
    for v in sess.inputs:
        if v.name in SMALL_INPUTS.get(name, {}):
            feeds[v.name] = random_input(v, SMALL_INPUTS[name][v.name], rng)
    if name == "minilm_encoder":
        feeds["input_ids"] = np.random.default_rng(0).integers(0, 100, (1, 16), dtype=np.int64)
    return graph, feeds, _ort(data, feeds)


@cache
def _exported(name: str, level: int) -> tuple[Graph, bytes, bytes]:
    """(the optimised graph, its export as checked ONNX bytes, those bytes without metadata)."""
    optimized, _ = optimize(_original(name)[0], level)
    model = graph_to_onnx(optimized)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    del model.metadata_props[:]  # the optimiser's report names the level
    return optimized, data, model.SerializeToString()


def _assert_close(got: list, want: list, what: str) -> None:
    assert len(got) == len(want), what
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, f"{what}: output {i}"
        if w.dtype.kind == "f":
            scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
            np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4 * scale, err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


def _ops(graph: Graph) -> Counter:
    return Counter((n.domain, n.op_type) for n in graph.nodes)


@pytest.mark.parametrize("name", MODELS)
def test_optimized_export_runs_in_onnxruntime_and_matches_the_original(name):
    _, feeds, expected = _original(name)
    checked: set[bytes] = set()  # a level that exports the same model as a lower one is done
    for level in LEVELS:
        optimized, data, content = _exported(name, level)
        if content in checked:
            continue
        checked.add(content)
        read_back = graph_from_onnx(data)
        assert _ops(read_back) == _ops(optimized), f"-O{level}: fused ops not restored"
        ours = gossamer.load(read_back, optimize=0).run(None, feeds)
        _assert_close(ours, expected, f"-O{level}: gossamer vs onnxruntime on the original")
        for ort_level in ORT_LEVELS:
            theirs = _ort(data, feeds, ort_level)
            what = f"-O{level}, onnxruntime optimisations {ort_level}"
            _assert_close(theirs, expected, f"{what}: vs onnxruntime on the original")
            _assert_close(theirs, ours, f"{what}: vs gossamer")


@pytest.mark.models
@pytest.mark.parametrize("level", [1, 3])
def test_optimizing_the_int8_model_keeps_its_int8_weights(level, tmp_path):
    original = len(_model_bytes(INT8_MODEL))
    optimized, data, _ = _exported(INT8_MODEL, level)
    assert len(data) <= 1.1 * original, f"-O{level}: {len(data):,} bytes from {original:,}"
    save_gsm(optimized, tmp_path / "m.gsm")
    gsm = Path(tmp_path / "m.gsm").stat().st_size
    assert gsm <= 1.1 * original, f"-O{level} .gsm: {gsm:,} bytes from {original:,}"
    int8 = [a for a in optimized.initializers.values() if np.asarray(a).dtype == np.int8]
    assert sum(np.asarray(a).nbytes for a in int8) > 0.9 * original
