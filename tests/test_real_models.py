"""The shared real models run on the reference (and on the cython backend where it is built) and
match onnxruntime (rtol 1e-3, atol 1e-4)."""

import numpy as np
import pytest

import gossamer
from gossamer.commands.inputs import random_input
from tests.conftest import ONNX_MODELS

ort = pytest.importorskip("onnxruntime")

# Concrete sizes for symbolic input dims, chosen to be what each model is used with.
SHAPES = {
    "mtcnn_pnet.onnx": {"input_1": (1, 24, 32, 3)},
    "mtcnn_rnet.onnx": {"input_2": (2, 24, 24, 3)},
    "mtcnn_onet.onnx": {"input_3": (1, 48, 48, 3)},
    "nudenet_320n_yolov8n.onnx": {"images": (1, 3, 320, 320)},
    "ppocr_mobile_v2_cls.onnx": {"x": (1, 3, 48, 192)},
    "ppocrv4_rec.onnx": {"x": (1, 3, 48, 320)},
    "silero_vad_v6_16k_sequence.onnx": {"input": (4, 576)},
    "minilm_l6_int8.onnx": {
        "input_ids": (1, 16),
        "attention_mask": (1, 16),
        "token_type_ids": (1, 16),
    },
}
# Per-model tolerance, widened only with a written reason.
TOLERANCE: dict[str, tuple[float, float]] = {}


def _feeds(name, sess):
    rng = np.random.default_rng(0)
    feeds = {v.name: random_input(v, SHAPES.get(name, {}).get(v.name), rng) for v in sess.inputs}
    if name == "minilm_l6_int8.onnx":
        feeds["input_ids"] = rng.integers(0, 30000, size=(1, 16)).astype(np.int64)
        feeds["attention_mask"] = np.ones((1, 16), np.int64)
        feeds["token_type_ids"] = np.zeros((1, 16), np.int64)
    return feeds


def _backend_available(name: str) -> bool:
    from gossamer.plugins.manager import all_backends, availability

    backend = all_backends().get(name)
    return backend is not None and availability(backend) is None


@pytest.mark.models
@pytest.mark.parametrize("backend", ["reference", "cython"])
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_model_matches_onnxruntime(models_dir, name, backend):
    if not _backend_available(backend):
        pytest.skip(f"backend {backend} is not available here")
    path = models_dir / name
    sess = gossamer.load(path, backends=[backend])
    feeds = _feeds(name, sess)
    ours = sess.run(None, feeds)
    oracle = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = oracle.run(None, feeds)
    rtol, atol = TOLERANCE.get(name, (1e-3, 1e-4))
    assert len(ours) == len(theirs)
    for o, t, spec in zip(ours, theirs, oracle.get_outputs()):
        assert o.shape == t.shape, spec.name
        assert o.dtype == t.dtype, spec.name
        np.testing.assert_allclose(o, t, rtol=rtol, atol=atol, err_msg=f"{name}: {spec.name}")
