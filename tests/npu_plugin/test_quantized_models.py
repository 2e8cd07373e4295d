"""ONNX models quantised by Gossamer (static int8) go to the NPU: their int8 core is claimed as
one partition, and every partition is bit-exact with LiteRT and TFLite Micro on its exported file
(TFLite's fixed-point requantisation, which the NPU implements: it differs from ONNX's float one
by a unit here and there, so the session follows the exported model, not the ONNX reference)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize
from gossamer.converter.quantization import quantize_static
from gossamer.refimpl.ir import Graph

import gossamer
from gossamer.builtin_models import mobilenet_v2, resnet18
from gossamer.session import read_model
from tests.conftest import MODELS_DIR

from .test_execution import check_partitions

SIZE = 32


def quantized(build) -> Graph:
    graph = read_model(build(size=SIZE, classes=10))
    rng = np.random.default_rng(0)
    calib = {"image": rng.uniform(0, 1, (1, 1, 3, SIZE, SIZE)).astype(np.float32)}
    q, _ = quantize_static(graph, calib, activation_type="int8")
    return q


@pytest.fixture(scope="module", params=[mobilenet_v2, resnet18], ids=lambda b: b.__name__)
def model(request):
    return quantized(request.param)


@pytest.mark.usefixtures("ethos_u")
def test_the_int8_core_is_one_npu_partition(model):
    sess = gossamer.load(model, backends=["ethos-u"])
    (partition,) = sess.placement.partitions
    on_cpu = {n.op_type for n in sess.graph.nodes if sess.placement.backend_of[n.name] != "ethos-u"}
    assert on_cpu <= {"QuantizeLinear", "DequantizeLinear", "Flatten", "Gemm"}  # float ends
    assert len(partition[1].nodes) >= 0.85 * len(sess.graph.nodes)


def test_every_partition_is_bit_exact_with_litert_and_tflm(model):
    graph, _ = optimize(model, 3)
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, SIZE, SIZE)).astype(np.float32)
    assert check_partitions(graph, {"image": x}, tflite_graph=False) == 1


@pytest.mark.models
def test_a_quantized_shared_real_model_is_bit_exact_on_every_partition(request):
    """mtcnn_rnet (a shared real ONNX model) quantised by Gossamer: its int8 islands (the PRelus
    stay float) are several partitions, each bit-exact with LiteRT and TFLite Micro."""
    path = MODELS_DIR / "mtcnn_rnet.onnx"
    if not path.exists():
        pytest.skip(f"{path} is not in the model cache (tests/fetch_models.sh)")
    graph = read_model(str(path))
    rng = np.random.default_rng(0)
    shape = (1, 24, 24, 3)  # NHWC, as the model was converted from Keras
    (name,) = [v.name for v in graph.inputs if v.name not in graph.initializers]
    calib = {name: rng.uniform(-1, 1, (8, *shape)).astype(np.float32)}
    q, _ = quantize_static(graph, calib, activation_type="int8")
    optimized, _ = optimize(q, 3)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    assert check_partitions(optimized, {name: x}, tflite_graph=False) >= 2
