"""All shared real ONNX models match onnxruntime with backends=["opencl"] (rtol 1e-3, atol 1e-4)
on every OpenCL device here, and the backend takes the nodes it should (the rest fall back
visibly, with reasons)."""

from __future__ import annotations

import numpy as np
import pytest

import gossamer
from tests.conftest import ONNX_MODELS
from tests.test_real_models import _feeds

ort = pytest.importorskip("onnxruntime")
pytestmark = [pytest.mark.models, pytest.mark.usefixtures("device")]

# the share of nodes each model runs on opencl at least (measured: see docs/opencl-backend.md)
MIN_SHARE = {
    "mtcnn_onet.onnx": 1.0,
    "mtcnn_pnet.onnx": 1.0,
    "mtcnn_rnet.onnx": 1.0,
    "ppocr_mobile_v2_cls.onnx": 0.9,
    "ppocrv4_rec.onnx": 0.85,  # the rest: integer shape arithmetic (Shape, Cast, int64 inputs)
    "nudenet_320n_yolov8n.onnx": 0.7,
    "silero_vad_v6_16k_sequence.onnx": 0.9,
    "silero_vad_v6_openvino_16k.onnx": 0.9,
    "minilm_l6_int8.onnx": 0.6,
}


def devices() -> list[str]:
    """Every OpenCL device here as 'P:D' (PoCL, and Intel's CPU runtime where it is installed);
    ["default"] where there is none (the tests then skip with the reason)."""
    from gossamer.opencl_plugin.device import _devices, unavailable_reason

    if unavailable_reason():
        return ["default"]
    return [f"{p}:{d}" for p, d, _, _ in _devices()[1]]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_model_on_opencl_matches_onnxruntime(models_dir, name, device):
    path = models_dir / name
    options = {} if device == "default" else {"opencl": {"device": device}}
    sess = gossamer.load(path, backends=["opencl"], backend_options=options)
    placed = list(sess.placement.backend_of.values())
    assert placed.count("opencl") / len(placed) >= MIN_SHARE[name]
    for node, backend in sess.placement.backend_of.items():
        if backend != "opencl":
            assert sess.placement.declined[node]["opencl"]  # every fallback says why
    feeds = _feeds(name, sess)
    ours = sess.run(None, feeds)
    oracle = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = oracle.run(None, feeds)
    assert len(ours) == len(theirs)
    for o, t, spec in zip(ours, theirs, oracle.get_outputs()):
        assert o.shape == t.shape and o.dtype == t.dtype, spec.name
        np.testing.assert_allclose(o, t, rtol=1e-3, atol=1e-4, err_msg=f"{name}: {spec.name}")
