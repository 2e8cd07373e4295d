"""Shared pieces of the quantisation tests: real models with seeded calibration samples, and
onnxruntime sessions of a Graph (as written, or with its integer fusions)."""

from __future__ import annotations

import numpy as np
import pytest

from gossamer.session import read_model

# sample shape (one feed) of the real models the tests quantise
REAL = {
    "mtcnn_rnet.onnx": ("input_2", (1, 24, 24, 3)),
    "ppocr_mobile_v2_cls.onnx": ("x", (1, 3, 48, 96)),  # width is symbolic: half of 192 is quicker
}


def samples(shape: tuple[int, ...], count: int, seed: int = 0) -> np.ndarray:
    """Seeded random images (count, *shape) in [0, 1)."""
    rng = np.random.default_rng(seed)
    return rng.random((count, *shape)).astype(np.float32)


@pytest.fixture(params=sorted(REAL))
def real_model(request, models_dir):
    """(graph, input name, sample shape, file stem) of each real model."""
    name = request.param
    inp, shape = REAL[name]
    return read_model(models_dir / name), inp, shape, name.removesuffix(".onnx")


def ort_run(graph, feeds: dict, *, fused: bool) -> list[np.ndarray]:
    """The graph exported to ONNX and run by onnxruntime: as written (fused=False: QDQ computed
    in float, exactly as the standard defines it) or with its integer fusions (fused=True)."""
    ort = pytest.importorskip("onnxruntime")
    from gossamer.converter.onnx_export import graph_to_onnx

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if fused
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    model = graph_to_onnx(graph).SerializeToString()
    sess = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def gossamer_run(graph, feeds: dict) -> list[np.ndarray]:
    from gossamer.converter.quantization.runner import reference_runner

    return reference_runner(graph)(feeds, [])


def one_step(reference: np.ndarray) -> float:
    """One step of an 8-bit grid over the value's range: the tolerance 'within one quantisation
    step' means for a float output."""
    span = float(reference.max() - min(0.0, float(reference.min())))
    return max(span, 1e-6) / 255.0
