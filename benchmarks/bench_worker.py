"""One engine in its own process, driven by side_by_side.py over a pipe.

    python benchmarks/bench_worker.py ENGINE SPEC.json THREADS WARMUP OUT.npz

Protocol (one JSON object per line on the original stdout; everything the engines print goes to
stderr): after loading and warming up the worker says {"ready": ...} (or {"error": ...}); each
`run K` line from the parent is answered with K timed runs {"times": [seconds...]}; `quit` is
answered with the peak RSS and the worker exits. The first run's outputs are saved to OUT.npz so
the parent can check that the engines agree.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Runner = Callable[[], list[np.ndarray]]


def _rss_mb() -> float:
    """Peak resident memory of this process. Linux carries getrusage's ru_maxrss over from the
    parent across exec, so the per-address-space high-water mark VmHWM is read first."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# ---- engines: each returns (run, version, note) after loading the model -------------------------
def gossamer_engine(backends: list[str]) -> Callable[..., tuple[Runner, str, str]]:
    def load(spec: dict, feeds: dict, threads: int) -> tuple[Runner, str, str]:
        import gossamer

        sess = gossamer.load(spec["gsm"], backends=backends, threads=threads)
        placed = ", ".join(f"{b} {n}" for b, n in sess.placement.summary().items())
        return (lambda: sess.run(None, feeds)), gossamer.__version__, f"nodes: {placed}"

    return load


def onnxruntime_engine(spec: dict, feeds: dict, threads: int) -> tuple[Runner, str, str]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(spec["onnx"], opts, providers=["CPUExecutionProvider"])
    return (lambda: sess.run(None, feeds)), ort.__version__, ""


def openvino_engine(spec: dict, feeds: dict, threads: int) -> tuple[Runner, str, str]:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(spec["onnx"])
    if spec["dynamic"]:
        model.reshape({name: list(value.shape) for name, value in feeds.items()})
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32",
    }
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    n_out = len(compiled.outputs)

    def run() -> list[np.ndarray]:
        request.infer(feeds)
        return [request.get_output_tensor(i).data for i in range(n_out)]

    return run, ov.__version__, ""


def mnn_engine(spec: dict, feeds: dict, threads: int) -> tuple[Runner, str, str]:
    if not spec.get("mnn"):
        raise RuntimeError(spec.get("mnn_reason", "no .mnn file"))
    import MNN
    import MNN.expr as F
    import MNN.nn as nn

    config = {"backend": "CPU", "numThread": threads, "precision": "high"}
    runtime = nn.create_runtime_manager((config,))
    names = list(feeds)
    net = nn.load_module_from_file(
        spec["mnn"], names, spec["outputs"], runtime_manager=runtime,
        shape_mutable=bool(spec["dynamic"]), rearrange=True,
    )  # fmt: skip
    # MNN's expression API has no int64: integer inputs are fed as int32
    arrays = [v.astype(np.int32) if v.dtype.kind in "iu" else v for v in feeds.values()]
    dtypes = [F.int if a.dtype == np.int32 else F.float for a in arrays]

    def run() -> list[np.ndarray]:
        inputs = [F.const(a, list(a.shape), F.NCHW, t) for a, t in zip(arrays, dtypes)]
        return [np.array(F.convert(o, F.NCHW).read()) for o in net.forward(inputs)]

    return run, MNN.version(), ""


def litert_engine(spec: dict, feeds: dict, threads: int) -> tuple[Runner, str, str]:
    if not spec.get("tflite"):
        raise RuntimeError(spec.get("tflite_reason", "no .tflite file"))
    import ai_edge_litert
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=spec["tflite"], num_threads=threads)
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    notes = []
    for detail in interp.get_input_details():
        value = _litert_feed(detail, feeds)
        if value is None:
            notes.append(f"{detail['name']} random")
            shape, dtype = tuple(detail["shape"]), detail["dtype"]
            value = (
                rng.integers(0, 2, shape).astype(dtype)
                if np.dtype(dtype).kind in "iu"
                else rng.random(shape).astype(dtype)
            )
        interp.set_tensor(detail["index"], value)
    outputs = [d["index"] for d in interp.get_output_details()]

    def run() -> list[np.ndarray]:
        interp.invoke()
        return [interp.get_tensor(i) for i in outputs]

    version = getattr(ai_edge_litert, "__version__", "?")
    return run, version, "; ".join(notes)


def _litert_feed(detail: dict, feeds: dict) -> np.ndarray | None:
    """The ONNX feed for a LiteRT input: matched by name, transposed NCHW -> NHWC if onnx2tf did."""
    name = detail["name"].removeprefix("serving_default_").split(":")[0]
    match = feeds.get(name)
    if match is None and len(feeds) == 1:
        match = next(iter(feeds.values()))
    if match is None:
        return None
    shape = tuple(detail["shape"])
    for candidate in (match, np.moveaxis(match, 1, -1) if match.ndim >= 3 else None):
        if candidate is not None and candidate.shape == shape:
            return np.ascontiguousarray(candidate.astype(detail["dtype"]))
    return None


# imported before the load timer starts: load time is the model's, not the library's
IMPORTS = {
    "gossamer-reference": ["gossamer", "gossamer.plugins.executor"],
    "gossamer-cython": ["gossamer", "gossamer.plugins.executor"],
    "onnxruntime": ["onnxruntime"],
    "openvino": ["openvino"],
    "mnn": ["MNN", "MNN.nn", "MNN.expr"],
    "litert": ["ai_edge_litert.interpreter"],
}
ENGINES: dict[str, Callable[..., tuple[Runner, str, str]]] = {
    "gossamer-reference": gossamer_engine([]),
    "gossamer-cython": gossamer_engine(["cython"]),
    "onnxruntime": onnxruntime_engine,
    "openvino": openvino_engine,
    "mnn": mnn_engine,
    "litert": litert_engine,
}


def main() -> None:
    engine, spec_path, threads, warmup, out_path = sys.argv[1:6]
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the engines print goes to stderr, not into the protocol

    def say(obj: dict[str, Any]) -> None:
        channel.write(json.dumps(obj) + "\n")

    rss_start = _rss_mb()
    try:
        with open(spec_path) as f:
            spec = json.load(f)
        with np.load(spec["feeds"], allow_pickle=False) as stored:
            feeds = {k: stored[k] for k in stored.files}
        for module in IMPORTS[engine]:
            importlib.import_module(module)
        # one-time library set-up: Gossamer finds its plugins (entry points) and imports the
        # registered backends' modules (the kernel tables those do not import are imported per
        # op by the first load that needs them, inside the load timer)
        start = time.perf_counter()
        if engine.startswith("gossamer-"):
            from gossamer.plugins.manager import plugin_state

            plugin_state()
        init_s = time.perf_counter() - start
        rss_start = _rss_mb()
        start = time.perf_counter()
        run, version, note = ENGINES[engine](spec, feeds, int(threads))
        load_s = time.perf_counter() - start
        rss_loaded = _rss_mb()
        start = time.perf_counter()
        outputs = run()
        first_s = time.perf_counter() - start
        np.savez(out_path, *[np.asarray(o) for o in outputs])
        for _ in range(int(warmup)):
            run()
    except Exception as err:  # report and leave: the parent records the reason
        traceback.print_exc()
        first = (str(err).strip().splitlines() or [""])[0].split(". ")[0]
        say({"error": f"{type(err).__name__}: {first[:300]}"})
        return
    say(
        {
            "ready": True,
            "load_s": load_s,
            "init_s": init_s,
            "first_run_s": first_s,
            "version": version,
            "note": note,
            "rss_after_import_mb": rss_start,
            "rss_loaded_mb": rss_loaded,
        }
    )
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "run":
            times = []
            for _ in range(int(arg or 1)):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
            say({"times": times})
        elif command == "quit":
            say({"peak_rss_mb": _rss_mb()})
            return


if __name__ == "__main__":
    main()
