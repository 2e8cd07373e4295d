"""The benchmark models and what each engine needs of them: ONNX, an optimised .gsm, MNN, TFLite.

Built-in models come from gossamer.builtin_models with fixed seeds; the shared real models from the
model cache (tests/conftest.py MODELS_DIR) with the input shapes tests/test_real_models.py uses.
Converted files are cached under ~/.cache/gossamer/bench/<model>-<hash of the ONNX bytes>/, so a
slow conversion (onnx2tf) happens once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path(os.environ.get("GOSSAMER_BENCH_CACHE", Path.home() / ".cache" / "gossamer" / "bench"))
MODELS_DIR = Path(os.environ.get("GOSSAMER_MODELS", Path.home() / ".cache" / "gossamer" / "models"))

# mirrors tests/test_real_models.py SHAPES: concrete sizes for the symbolic input dims
REAL_SHAPES: dict[str, dict[str, tuple[int, ...]]] = {
    "mtcnn_pnet": {"input_1": (1, 24, 32, 3)},
    "mtcnn_rnet": {"input_2": (2, 24, 24, 3)},
    "mtcnn_onet": {"input_3": (1, 48, 48, 3)},
    "nudenet_320n_yolov8n": {"images": (1, 3, 320, 320)},
    "ppocr_mobile_v2_cls": {"x": (1, 3, 48, 192)},
    "ppocrv4_rec": {"x": (1, 3, 48, 320)},
    "silero_vad_v6_16k_sequence": {"input": (4, 576)},
    "minilm_l6_int8": {"input_ids": (1, 16), "attention_mask": (1, 16), "token_type_ids": (1, 16)},
    "silero_vad_v6_openvino_16k": {},
}


def _image(seed: int = 0) -> dict[str, np.ndarray]:
    return {"image": np.random.default_rng(seed).random((1, 3, 224, 224), dtype=np.float32)}


def _minilm_feeds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 1000, (1, 128)).astype(np.int64)
    return {"input_ids": ids, "attention_mask": np.ones((1, 128), np.int64)}


def _lstm_feeds() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(0).standard_normal((50, 1, 64)).astype(np.float32)}


def _builtin(name: str) -> Callable[[], Any]:
    from gossamer import builtin_models

    return {
        "mobilenet_v2": builtin_models.mobilenet_v2,
        "resnet18": builtin_models.resnet18,
        "resnet50": builtin_models.resnet50,
        "squeezenet1_1": builtin_models.squeezenet1_1,
        "minilm": builtin_models.minilm_encoder,
        "lstm": builtin_models.lstm,
    }[name]


BUILTIN: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "mobilenet_v2": _image,
    "resnet18": _image,
    "resnet50": _image,
    "squeezenet1_1": _image,
    "minilm": _minilm_feeds,
    "lstm": _lstm_feeds,
}


@dataclass
class Prepared:
    """Everything a worker needs, written to `spec.json` in the model's cache folder."""

    name: str
    spec_path: Path
    spec: dict[str, Any]


def all_model_names() -> list[str]:
    return list(BUILTIN) + list(REAL_SHAPES)


def prepare(name: str, engines: list[str], opt_level: int, onnx2tf: str | None) -> Prepared:
    """Writes the ONNX model, its feeds and each engine's converted file (cached)."""
    if name in BUILTIN:
        blob = _builtin(name)().SerializeToString()
        feeds = BUILTIN[name]()
    else:
        path = MODELS_DIR / f"{name}.onnx"
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing (tests/fetch_models.sh fetches it)")
        blob = path.read_bytes()
        feeds = _real_feeds(name, blob)
    folder = CACHE / f"{name}-{hashlib.sha256(blob).hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{name}.onnx"
    if not onnx_path.exists():
        onnx_path.write_bytes(blob)
    np.savez(folder / "feeds.npz", **feeds)
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    dynamic = any(
        not d.HasField("dim_value")
        for i in model.graph.input
        if i.type.HasField("tensor_type")
        for d in i.type.tensor_type.shape.dim
    )
    spec: dict[str, Any] = {
        "name": name,
        "onnx": str(onnx_path),
        "feeds": str(folder / "feeds.npz"),
        "dynamic": dynamic,
        "outputs": [o.name for o in model.graph.output],
    }
    if any(e.startswith("gossamer") for e in engines):
        spec["gsm"], spec["gsm_note"] = _gsm(onnx_path, folder, opt_level)
    if "mnn" in engines:
        spec["mnn"], spec["mnn_reason"] = _mnn(onnx_path, folder)
    if "litert" in engines:
        spec["tflite"], spec["tflite_reason"] = _tflite(onnx_path, folder, feeds, onnx2tf)
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    return Prepared(name, spec_path, spec)


def _real_feeds(name: str, blob: bytes) -> dict[str, np.ndarray]:
    import gossamer
    from gossamer.commands.inputs import random_input

    sess = gossamer.load(blob)
    rng = np.random.default_rng(0)
    shapes = REAL_SHAPES.get(name, {})
    feeds = {v.name: random_input(v, shapes.get(v.name), rng) for v in sess.inputs}
    if name == "minilm_l6_int8":
        feeds["input_ids"] = rng.integers(0, 30000, size=(1, 16)).astype(np.int64)
        feeds["attention_mask"] = np.ones((1, 16), np.int64)
        feeds["token_type_ids"] = np.zeros((1, 16), np.int64)
    return feeds


def _gsm(onnx_path: Path, folder: Path, level: int) -> tuple[str, str]:
    """The model optimised at `level` as a .gsm file (unoptimised if the optimiser fails)."""
    from gossamer.converter.onnx_import import graph_from_onnx
    from gossamer.converter.optimizer.weight_compaction import optimize_for_saving
    from gossamer.refimpl.model_format import save_gsm

    out = folder / f"O{level}.gsm"
    graph = graph_from_onnx(str(onnx_path))
    note = f"-O{level}"
    try:
        graph, _ = optimize_for_saving(graph, level)  # as `gossamer optimize` writes it
    except Exception as err:  # benchmark what runs; say why it is unoptimised
        note = f"unoptimised (-O{level} failed: {type(err).__name__}: {err})"[:200]
    save_gsm(graph, out)
    return str(out), note


def _mnn(onnx_path: Path, folder: Path) -> tuple[str | None, str]:
    out = folder / "model.mnn"
    if out.exists():
        return str(out), ""
    tool = shutil.which("mnnconvert", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if tool is None:
        return None, "mnnconvert not found (pip install MNN)"
    cmd = [tool, "-f", "ONNX", "--modelFile", str(onnx_path), "--MNNModel", str(out)]
    return _convert(cmd + ["--bizCode", "gossamer"], out, folder / "mnnconvert.log", 300)


def _tflite(
    onnx_path: Path, folder: Path, feeds: dict[str, np.ndarray], onnx2tf: str | None
) -> tuple[str | None, str]:
    """onnx2tf (which needs TensorFlow: keep it in its own virtual environment) -> float32
    .tflite; onnx2tf transposes 4-D inputs to NHWC."""
    out_dir = folder / "onnx2tf"
    out = out_dir / f"{onnx_path.stem}_float32.tflite"
    if out.exists():
        return str(out), ""
    failed = folder / "onnx2tf.failed"
    if failed.exists():
        return None, failed.read_text()
    tool = onnx2tf or os.environ.get("GOSSAMER_ONNX2TF") or shutil.which("onnx2tf")
    if tool is None:
        return None, "onnx2tf not found (give --onnx2tf; it needs TensorFlow in its own venv)"
    # onnx2tf validates image models on sample data it downloads unless this file is present
    sample = folder / "calibration_image_sample_data_20x128x128x3_float32.npy"
    if not sample.exists():
        np.save(sample, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    # Erf (GELU) is no TFLite builtin: without its pseudo-op replacement it needs the Flex delegate
    cmd = [tool, "-i", str(onnx_path), "-o", str(out_dir), "-rtpo", "Erf"]
    shapes = [f"{k}:{','.join(map(str, v.shape))}" for k, v in feeds.items()]
    cmd += ["-ois", *shapes]
    path, reason = _convert(cmd, out, folder / "onnx2tf.log", 600)
    if path is None:
        failed.write_text(reason)
    return path, reason


def _convert(cmd: list[str], out: Path, log: Path, timeout: int) -> tuple[str | None, str]:
    try:
        with open(log, "w") as f:
            done = subprocess.run(
                cmd, cwd=log.parent, stdout=f, stderr=subprocess.STDOUT, timeout=timeout
            )
    except subprocess.TimeoutExpired:
        return None, f"{Path(cmd[0]).name} took over {timeout} s"
    if done.returncode == 0 and out.exists():
        return str(out), ""
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()] or lines or ["no output"]
    return None, f"{Path(cmd[0]).name} failed: {errors[-1][:200]} (log: {log})"


def ort_node_profile(onnx: str, feeds: dict, threads: int, runs: int, warmup: int = 5) -> dict:
    """onnxruntime's own per-node kernel times (SessionOptions.enable_profiling): node name (in
    execution order) -> (the event's args: op_name, input_type_shape, ...; the median ms of the
    `runs` runs after `warmup` untimed ones)."""
    import statistics
    import tempfile
    from collections import defaultdict

    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = str(Path(tmp) / "ort")
        sess = ort.InferenceSession(onnx, so, providers=["CPUExecutionProvider"])
        for _ in range(warmup + runs):
            sess.run(None, feeds)
        events = json.loads(Path(sess.end_profiling()).read_text())
    times: dict[str, list[float]] = defaultdict(list)
    meta = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            times[e["name"]].append(e["dur"] / 1e3)  # microseconds -> ms
            meta[e["name"]] = e["args"]
    return {n: (meta[n], statistics.median(v[warmup:])) for n, v in times.items()}
