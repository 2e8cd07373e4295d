"""Gossamer against onnxruntime, OpenVINO, MNN and LiteRT, side by side, on one machine.

Each engine runs in its own process (bench_worker.py) that loads the model once; the rounds are
interleaved (every round asks every engine for one run, in a rotating order) so that the shared
machine's noise falls on all engines alike. Reported per model, thread count and engine: median /
min latency of --runs runs after --warmup, load (session creation) time, peak RSS of the worker
process, and agreement with onnxruntime. Writes PREFIX.md, PREFIX.json and PREFIX.png.

    python benchmarks/side_by_side.py                        # everything (about 20-30 minutes)
    python benchmarks/side_by_side.py --models mobilenet_v2,minilm --runs 10 \\
        --out benchmarks/results/quick                        # a quick run (< 2 minutes)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import CACHE, Prepared, all_model_names, prepare  # noqa: E402
from bench_report import write_reports  # noqa: E402

ENGINES = ["gossamer-reference", "gossamer-cython", "onnxruntime", "openvino", "mnn", "litert"]
PEERS = ["onnxruntime", "openvino", "mnn", "litert"]
_MODULE = {"onnxruntime": "onnxruntime", "openvino": "openvino", "mnn": "MNN",
           "litert": "ai_edge_litert"}  # fmt: skip


def engine_unavailable(engine: str) -> str | None:
    """Why `engine` cannot run here (None: it can)."""
    if engine.startswith("gossamer-"):
        backend = engine.removeprefix("gossamer-")
        from gossamer.plugins.manager import availability, plugin_state

        found = plugin_state().backends.get(backend)
        if found is None:
            return f"backend {backend!r} is not registered (`gossamer backends`)"
        return availability(found)
    module = _MODULE[engine]
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (pip install 'gossamer[bench]')"
    return None


class Worker:
    """One engine process for one model and thread count."""

    def __init__(self, engine: str, model: Prepared, threads: int, warmup: int, tmp: Path):
        self.engine = engine
        self.outputs = tmp / f"{model.name}-{engine}-{threads}.npz"
        self.log = tmp / f"{model.name}-{engine}-{threads}.log"
        env = dict(os.environ)
        # load times are measured as deployed, with Python's bytecode cache (some sandboxes turn
        # it off, which makes every process recompile each imported module)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)  # numpy's BLAS (the reference's matmuls) obeys these
        args = [sys.executable, str(HERE / "bench_worker.py"), engine, str(model.spec_path),
                str(threads), str(warmup), str(self.outputs)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log, "w"), text=True, env=env)  # fmt: skip
        self.times: list[float] = []
        self.info: dict[str, Any] = {}

    def ask(self, command: str | None, timeout: float) -> dict[str, Any]:
        if command is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            why = "timed out" if not ready else "exited"
            raise RuntimeError(f"worker {why} ({tail[0][:200]}; log {self.log})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def bench_group(
    model: Prepared, engines: list[str], threads: int, args: argparse.Namespace, tmp: Path
) -> list[dict[str, Any]]:
    """All engines on one model at one thread count, rounds interleaved."""
    rows: dict[str, dict[str, Any]] = {}
    workers: list[Worker] = []
    for engine in engines:  # one at a time, so each load time is measured on a quiet machine
        row = rows[engine] = {"model": model.name, "threads": threads, "engine": engine}
        worker = Worker(engine, model, threads, args.warmup, tmp)
        try:
            hello = worker.ask(None, args.timeout)
        except RuntimeError as err:
            hello = {"error": str(err)}
        if "error" in hello:
            row.update(status="error", reason=hello["error"])
            worker.close()
            continue
        worker.info = hello
        workers.append(worker)
    per_turn = max(1, args.block)
    for r in range(-(-args.runs // per_turn)):
        shift = r % max(1, len(workers))
        for worker in workers[shift:] + workers[:shift]:
            time.sleep(args.gap)  # let the previous engine's spinning pool threads go idle
            try:
                times = worker.ask(f"run {per_turn + (args.block > 0)}", args.timeout)["times"]
                # with --block K the first run of a turn only wakes the engine's threads up
                worker.times += times[1:] if args.block > 0 else times
            except RuntimeError as err:
                rows[worker.engine].update(status="error", reason=str(err))
                workers.remove(worker)
                worker.close()
    reference = _outputs(next((w for w in workers if w.engine == "onnxruntime"), None))
    for worker in workers:
        try:
            peak = worker.ask("quit", args.timeout)["peak_rss_mb"]
        except RuntimeError:
            peak = None
        worker.close()
        ms = [t * 1000 for t in worker.times]
        rows[worker.engine].update(
            status="ok",
            median_ms=statistics.median(ms),
            min_ms=min(ms),
            mean_ms=statistics.fmean(ms),
            runs=len(ms),
            load_ms=worker.info["load_s"] * 1000,
            init_ms=worker.info.get("init_s", 0.0) * 1000,
            first_run_ms=worker.info["first_run_s"] * 1000,
            peak_rss_mb=peak,
            rss_after_import_mb=worker.info["rss_after_import_mb"],
            version=worker.info["version"],
            note=worker.info["note"],
            max_rel_err_vs_ort=_agreement(_outputs(worker), reference),
        )
    return [rows[e] for e in engines]


def _outputs(worker: Worker | None) -> list[np.ndarray] | None:
    if worker is None or not worker.outputs.exists():
        return None
    with np.load(worker.outputs) as stored:
        return [stored[k] for k in stored.files]


def _agreement(outs: list[np.ndarray] | None, ref: list[np.ndarray] | None) -> float | None:
    """max |a - b| / max |b| over the first output (None when the shapes do not line up)."""
    if not outs or not ref or outs[0].shape != ref[0].shape or ref[0].dtype.kind not in "fc":
        return None
    a, b = outs[0].astype(np.float64), ref[0].astype(np.float64)
    return float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-12))


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    models_help = f"comma-separated, or all, builtin, real: {all_model_names()}"
    parser.add_argument("--models", default="all", help=models_help)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engines")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per engine (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--opt-level", type=int, default=3, help="Gossamer's -O level (default 3)")
    parser.add_argument("--onnx2tf", help="onnx2tf executable for LiteRT (a venv with TensorFlow)")
    parser.add_argument("--block", type=int, default=5,
                        help="timed runs per engine turn, after one untimed wake-up run "
                        "(default 5: steady state); 0: single runs after each idle gap, "
                        "thread wake-up included")  # fmt: skip
    parser.add_argument("--gap", type=float, default=0.1,
                        help="idle seconds before each engine's turn (default 0.1)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600, help="seconds per worker reply")
    parser.add_argument("--out", default=str(HERE / "results" / "side_by_side"),
                        help="output prefix: PREFIX.md, PREFIX.json, PREFIX.png")  # fmt: skip
    args = parser.parse_args(argv)
    names = {"all": all_model_names(), "builtin": all_model_names()[:6],
             "real": all_model_names()[6:]}.get(args.models, _split(args.models))  # fmt: skip
    unknown = [n for n in names if n not in all_model_names()]
    engines = _split(args.engines)
    unknown += [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown model(s)/engine(s) {unknown}; models {all_model_names()}")
    threads = [int(t) for t in _split(args.threads)]
    skipped = {e: why for e in engines if (why := engine_unavailable(e)) is not None}
    for e, why in skipped.items():
        print(f"skipping {e}: {why}", flush=True)
    running = [e for e in engines if e not in skipped]
    tmp = CACHE / "work"  # worker logs and outputs
    tmp.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    models: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for name in names:
        t = time.perf_counter()
        try:
            model = prepare(name, running, args.opt_level, args.onnx2tf)
        except Exception as err:  # a missing real model skips that model only
            print(f"{name}: skipped ({type(err).__name__}: {err})", flush=True)
            continue
        models[name] = {k: v for k, v in model.spec.items() if k.endswith(("_note", "_reason"))}
        print(f"{name}: prepared in {time.perf_counter() - t:.1f} s", flush=True)
        for n in threads:
            group = bench_group(model, running, n, args, tmp)
            group += [{"model": name, "threads": n, "engine": e, "status": "skipped",
                       "reason": why} for e, why in skipped.items()]  # fmt: skip
            rows += group
            done = [f"{r['engine']} {r['median_ms']:.2f}" for r in group if r["status"] == "ok"]
            print(f"  {n} thread(s): " + ", ".join(done), flush=True)
            for r in group:
                if r["status"] == "error":
                    print(f"  {r['engine']}: error: {r['reason']}", flush=True)
    meta = {
        "machine": {
            "cpu": _cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },  # fmt: skip
        "runs": args.runs,
        "block": args.block,
        "warmup": args.warmup,
        "threads": threads,
        "opt_level": args.opt_level,
        "engines": engines,
        "models": models,
        "wall_s": time.perf_counter() - started,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    written = write_reports(Path(args.out), rows, meta)
    print(Path(written[0]).read_text())
    print("wrote " + ", ".join(written))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    sys.exit(main())
