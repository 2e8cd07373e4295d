"""Every way of running a model runs the same graph: gossamer.load, the onnxruntime-compatible
InferenceSession and `gossamer benchmark` (tools/benchmark.load_timed) all expand stored
weights, optimise and plan the cython backend's blocked layout the same way
(session.prepared_for_running), and `gossamer compare` checks that graph."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.plugins.manager import select_backends
from gossamer.refimpl.model_format import save_gsm
from gossamer.tools.benchmark import load_timed

import gossamer
from gossamer.layout_planning import LAYOUT_KEY
from gossamer.session import prepared_for_running
from tests.converter.optimizer._helpers import graph_of, node

RNG = np.random.default_rng(11)


def _w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.3).astype(np.float32)


def _model(tmp_path):  # noqa: ANN001, ANN202
    """stem 3x3 s2 -> depthwise 3x3 -> 1x1 to 256 channels whose weight is stored as float16
    (Cast; 8 KB more as float32, so the optimiser's constant folding keeps it) -> pool."""
    nodes = [
        node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1]),
        node("Relu", ["a"], ["a1"]),
        node("Conv", ["a1", "w1"], ["d"], kernel_shape=[3, 3], group=16, pads=[1, 1, 1, 1]),
        node("Relu", ["d"], ["d1"]),
        node("Cast", ["w2h"], ["w2"], to=1),
        node("Conv", ["d1", "w2", "b2"], ["p"], kernel_shape=[1, 1]),
        node("GlobalAveragePool", ["p"], ["y"]),
    ]  # fmt: skip
    inits = {"w0": _w(16, 3, 3, 3), "b0": _w(16), "w1": _w(16, 1, 3, 3),
             "w2h": _w(256, 16, 1, 1).astype(np.float16), "b2": _w(256)}  # fmt: skip
    path = tmp_path / "chain.gsm"
    save_gsm(graph_of(nodes, [("x", [1, 3, 20, 18])], [("y", None)], inits), path)
    return path


def _ops(graph) -> list[str]:  # noqa: ANN001
    return [n.op_type for n in graph.nodes]


def test_load_inference_session_and_benchmark_run_the_same_graph(tmp_path) -> None:  # noqa: ANN001
    if not any(b.name == "cython" for b in select_backends(["cython"])[0]):
        pytest.skip("the cython backend is not available here")
    path = _model(tmp_path)
    loaded = gossamer.load(path, backends=["cython"]).graph
    compat = gossamer.InferenceSession(str(path), providers=["cython"]).session.graph
    timed = load_timed(path, backends=["cython"])[0].graph
    assert LAYOUT_KEY in loaded.metadata  # the blocked layout was planned ...
    assert "Cast" not in _ops(loaded)  # ... and the float16 weight expanded
    assert _ops(compat) == _ops(loaded) == _ops(timed)
    assert LAYOUT_KEY in compat.metadata and LAYOUT_KEY in timed.metadata
    x = RNG.standard_normal((1, 3, 20, 18)).astype(np.float32)
    want = gossamer.load(path, optimize=0, backends=[]).run(None, {"x": x})[0]
    got = gossamer.InferenceSession(str(path), providers=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_level_0_is_the_graph_as_written(tmp_path) -> None:  # noqa: ANN001
    from gossamer.session import read_model

    graph = read_model(_model(tmp_path))
    assert prepared_for_running(graph, 0, None) is graph
    assert "Cast" in _ops(gossamer.InferenceSession(
        str(tmp_path / "chain.gsm"),
        sess_options=_options(gossamer.GraphOptimizationLevel.ORT_DISABLE_ALL),
    ).session.graph)  # fmt: skip


def test_the_saved_optimised_model_is_portable(tmp_path) -> None:  # noqa: ANN001
    # optimized_model_filepath gets the optimiser's graph: no machine-specific blocked layout
    # and no float32 expansion of the stored weights
    from gossamer.session import read_model

    out = tmp_path / "optimized.gsm"
    opts = _options(gossamer.GraphOptimizationLevel.ORT_ENABLE_ALL)
    opts.optimized_model_filepath = str(out)
    gossamer.InferenceSession(str(_model(tmp_path)), sess_options=opts)
    saved = read_model(out)
    assert LAYOUT_KEY not in saved.metadata
    assert "Cast" in _ops(saved)


def _options(level):  # noqa: ANN001, ANN202
    opts = gossamer.SessionOptions()
    opts.graph_optimization_level = level
    return opts


def test_compare_checks_the_graph_load_runs(tmp_path) -> None:  # noqa: ANN001
    # `gossamer compare` side A is the planned graph: the blocked chain's values (renamed) are
    # skipped, the values at its ends and the output are compared and agree
    if not any(b.name == "cython" for b in select_backends(["cython"])[0]):
        pytest.skip("the cython backend is not available here")
    from gossamer.tools.first_divergence import compare_model

    x = RNG.standard_normal((1, 3, 20, 18)).astype(np.float32)
    result = compare_model(_model(tmp_path), {"x": x}, backends=["cython"], optimize=3)
    assert result.agrees, result.first
    assert "d1" in result.skipped  # the depthwise conv's output, blocked (d1_nchwc) on side A
    assert "y" in {row.value for row in result.values}
