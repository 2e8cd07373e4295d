"""The shared float TFLite models, imported and exported again: LiteRT computes the same bits
from both files (the importer's Transposes around each NHWC op vanish on export)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gossamer.converter.tflite_export import export_tflite

from gossamer.session import read_model
from tests.converter.tflite_export.helpers import litert, random_feeds
from tests.converter.tflite_export.test_export_float_onnx import operators

MODELS = Path.home() / ".cache" / "gossamer" / "models"


def _run(model: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    it = litert.Interpreter(model_content=model)
    for d in it.get_input_details():
        it.resize_tensor_input(d["index"], list(feeds[d["name"]].shape))
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


@pytest.mark.parametrize("name, shape", [
    ("mp_face_detection_short_range", None),
    ("mp_hand_landmark_lite", None),
    ("oww_embedding", None),
    ("oww_melspectrogram", (1, 1280)),
])  # fmt: skip
def test_shared_float_models_round_trip_bit_identically(name, shape):
    path = MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not cached")
    original = path.read_bytes()
    graph = read_model(original)
    shapes = {graph.inputs[0].name: shape} if shape else None
    exported = export_tflite(graph, input_shapes=shapes)
    assert operators(exported)["TRANSPOSE"] <= operators(original)["TRANSPOSE"]
    feeds = random_feeds(graph, np.random.default_rng(0))
    if shape:
        feeds = {
            k: np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32) for k in feeds
        }
    for want, got in zip(_run(original, feeds), _run(exported, feeds)):
        assert want.shape == got.shape and np.array_equal(want, got)
