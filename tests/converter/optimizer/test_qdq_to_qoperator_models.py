"""qdq_to_qoperator on models quantised by onnxruntime's quantize_static (QDQ format): the built-in
tiny_cnn (per tensor / per channel, uint8 / int8 activations) and the shared ppocr_mobile_v2_cls.
No DQ -> Conv/MatMul/Gemm -> Q round trip is left, every integer op lands within 1 quantisation
step of the QDQ graph, and the rewritten graph saved as ONNX runs in onnxruntime and agrees with
Gossamer (each op within 1 step; the outputs within 1 step).

uint8 activations are quantised with reduce_range (7-bit weights), as onnxruntime advises for
U8S8 on x86 without VNNI: there its kernels sum pairs of u8 * s8 products in saturating int16
(vpmaddubsw), so onnxruntime's own QDQ fusion drifts up to 55 steps from the QDQ semantics on
full-range per-channel weights, and so does its run of this pass's rewrite, which computes what
its own fusion computes (test_onnxruntime_fuses_qdq_as_this_pass_does).
Exactness is checked per op (per_op_steps: each integer op fed the QDQ graph's own integers): a
1-step rounding difference propagates through later layers like any rounding difference.
"""

from functools import cache

import numpy as np
import pytest
from gossamer.converter.onnx_export import graph_to_onnx
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer import optimize
from gossamer.converter.optimizer.qdq_to_qoperator import qdq_to_qoperator

from gossamer import builtin_models

from ._helpers import ops
from ._qdq_helpers import (
    F32,
    feeds_for,
    fused_round_trips,
    output_steps,
    per_op_steps,
    quantize_with_onnxruntime,
    run,
    steps_apart,
)

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")
CONFIGS = [(pc, act) for pc in (False, True) for act in ("QUInt8", "QInt8")]
CLS_SHAPE = (1, 3, 48, 192)


def _samples(name: str, shape: tuple, n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{name: rng.random(shape).astype(F32) * 2 - 1} for _ in range(n)]


@cache
def _tiny(per_channel: bool, act: str, folder: str):
    """(QDQ graph, its rewrite) of tiny_cnn quantised by onnxruntime."""
    path = f"{folder}/tiny_pc{int(per_channel)}_{act}.onnx"
    quantize_with_onnxruntime(
        builtin_models.tiny_cnn(size=32),
        path,
        _samples("image", (1, 3, 32, 32), 8, 0),
        per_channel=per_channel,
        activation_type=getattr(quantization.QuantType, act),
        weight_type=quantization.QuantType.QInt8,
        reduce_range=act == "QUInt8",
    )
    graph = graph_from_onnx(path)
    return graph, qdq_to_qoperator(graph)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("qdq"))


def _ort_run(model, feeds, level=None):
    options = ort.SessionOptions()
    if level is not None:
        options.graph_optimization_level = level
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


@pytest.mark.parametrize("per_channel, act", CONFIGS)
def test_tiny_cnn_runs_integer_end_to_end(folder, per_channel, act):
    graph, fused = _tiny(per_channel, act, folder)
    assert fused_round_trips(graph) == 8 and fused_round_trips(fused) == 0
    assert ops(fused)["QLinearConv"] == 7 and ops(fused)["com.microsoft::QGemm"] == 1
    # the only float left: the input's Q, and Softmax between a DQ and the output's Q/DQ
    assert ops(fused)["QuantizeLinear"] == 2 and ops(fused)["DequantizeLinear"] == 2


def _ort_single(graph, feeds):
    return _ort_run(graph_to_onnx(graph), feeds)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("per_channel, act", CONFIGS)
def test_tiny_cnn_every_integer_op_is_within_one_step_of_the_qdq_graph(folder, per_channel, act):
    graph, fused = _tiny(per_channel, act, folder)
    feeds = feeds_for(graph, 1, {"image": [4, 3, 32, 32]})
    measured = per_op_steps(graph, fused, feeds)
    assert {"QLinearConv", "QGemm", "QLinearAdd", "Flatten"} <= set(measured)
    assert all(worst <= 1 and share < 1e-3 for worst, share in measured.values()), measured
    # a 1-step difference propagates: end to end the outputs are close, not within 1 step
    for a, b in zip(run(graph, feeds), run(fused, feeds)):
        assert _cosine(a, b) > 0.999


@pytest.mark.parametrize("per_channel, act", CONFIGS)
def test_tiny_cnn_rewrite_runs_in_onnxruntime_and_agrees_with_gossamer(folder, per_channel, act):
    _, fused = _tiny(per_channel, act, folder)
    feeds = feeds_for(fused, 2, {"image": [4, 3, 32, 32]})
    measured = per_op_steps(fused, fused, feeds, runner=_ort_single)
    assert all(worst <= 1 for worst, _ in measured.values()), measured
    theirs = _ort_run(graph_to_onnx(fused), feeds)
    for worst, _share in steps_apart(run(fused, feeds), theirs, output_steps(fused)):
        assert worst <= 1 + 1e-6


def test_onnxruntime_fuses_qdq_as_this_pass_does(folder):
    """onnxruntime's own QDQ -> QLinear fusion of the QDQ model computes bit for bit what it
    computes on this pass's rewrite (the model's integer intermediates included)."""
    graph, fused = _tiny(True, "QUInt8", folder)
    feeds = feeds_for(graph, 3, {"image": [2, 3, 32, 32]})
    enabled = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    for a, b in zip(
        _ort_run(graph_to_onnx(graph), feeds, enabled),
        _ort_run(graph_to_onnx(fused), feeds, enabled),
    ):
        np.testing.assert_array_equal(a, b)


def test_the_o3_pipeline_keeps_the_integer_graph_within_one_step(folder):
    graph, _ = _tiny(False, "QInt8", folder)
    optimized, report = optimize(graph, level=3)
    assert report.changed("qdq_to_qoperator") == 12 and fused_round_trips(optimized) == 0
    feeds = feeds_for(graph, 4, {"image": [2, 3, 32, 32]})
    measured = per_op_steps(graph, optimized, feeds)
    assert all(worst <= 1 for worst, _ in measured.values()), measured


@pytest.mark.models
def test_ppocr_cls_quantised_by_onnxruntime_runs_integer_within_one_step(models_dir, folder):
    path = quantize_with_onnxruntime(
        str(models_dir / "ppocr_mobile_v2_cls.onnx"),
        f"{folder}/cls_qdq.onnx",
        _samples("x", CLS_SHAPE, 4, 0),
        per_channel=False,
        activation_type=quantization.QuantType.QInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    graph = graph_from_onnx(path)
    fused = qdq_to_qoperator(graph)
    assert fused_round_trips(graph) == 54 and fused_round_trips(fused) == 0
    assert ops(fused)["QLinearConv"] == 53
    feeds = {"x": _samples("x", CLS_SHAPE, 1, 5)[0]["x"]}
    measured = per_op_steps(graph, fused, feeds)
    assert {"QLinearConv", "QLinearAdd", "QLinearMul", "QGemm"} <= set(measured)
    assert all(worst <= 1 and share < 1e-2 for worst, share in measured.values()), measured
    in_onnxruntime = per_op_steps(fused, fused, feeds, runner=_ort_single)
    assert all(worst <= 1 for worst, _ in in_onnxruntime.values()), in_onnxruntime
    for a, b in zip(run(graph, feeds), run(fused, feeds)):
        assert np.argmax(a) == np.argmax(b) and _cosine(a, b) > 0.99
