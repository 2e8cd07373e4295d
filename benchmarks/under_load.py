"""Latency with and without another busy process on the machine: Gossamer's cython backend against
onnxruntime, and the cython backend before vs after a change of its extension.

Each (engine, threads) pair runs in its own worker process (bench_worker.py) that loads the model
once. Phases alternate: quiet, then loaded (a busy loop pinned to one core with `taskset -c 1`,
started here and killed at the end of the phase), `--cycles` times; inside a phase the workers
take turns, `--block` runs each, until each has `--runs` runs. Reported per model: the median
latency of every worker in each phase and, at each thread count under load, each engine's
slowdown (loaded median / quiet median), side by side. The load average before each phase is
recorded: on a machine shared with other jobs "quiet" is only as quiet as they let it be.

    python benchmarks/under_load.py                                   # every model
    python benchmarks/under_load.py --models mtcnn_onet,mobilenet_v2 --runs 20
    python benchmarks/under_load.py --before /tmp/ext_before.so       # also the old extension

--before SO adds the engine `cython-before`: the same backend with the extension module loaded
from SO (e.g. a copy of cython_kernels/_ext*.so kept from before a change). Writes PREFIX.md and
PREFIX.json (default benchmarks/results/under_load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import all_model_names, prepare  # noqa: E402
from side_by_side import Worker  # noqa: E402

DEFAULT_MODELS = [m for m in all_model_names() if m != "silero_vad_v6_openvino_16k"]
BUSY_LOOP = "while True:\n    pass\n"


def start_worker(engine: str, model: Any, threads: int, args: argparse.Namespace, tmp: Path):
    """A bench_worker process for `engine` ("cython", "cython-before" or "onnxruntime")."""
    if engine == "onnxruntime":
        return Worker("onnxruntime", model, threads, args.warmup, tmp)
    if engine == "cython":
        return Worker("gossamer-cython", model, threads, args.warmup, tmp / "after")
    # the old extension: a sitecustomize on PYTHONPATH imports it before gossamer does
    inject = tmp / "inject"
    inject.mkdir(exist_ok=True)
    (inject / "sitecustomize.py").write_text(
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location(\n"
        f"    'gossamer.cython_kernels._ext', {args.before!r})\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "sys.modules[spec.name] = mod\n"
        "spec.loader.exec_module(mod)\n"
    )
    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(inject), saved.get("PYTHONPATH")]))
    # an OpenMP build read GOMP_SPINCOUNT as _native.py set it before loading the extension
    os.environ.setdefault("GOMP_SPINCOUNT", "300000")
    try:
        return Worker("gossamer-cython", model, threads, args.warmup, tmp / "before")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def busy_process() -> subprocess.Popen:
    """A Python busy loop pinned to core 1 (killed by the caller)."""
    cmd = [sys.executable, "-c", BUSY_LOOP]
    if shutil.which("taskset"):
        return subprocess.Popen(["taskset", "-c", "1", *cmd])
    return subprocess.Popen(cmd, preexec_fn=lambda: os.sched_setaffinity(0, {1}))


def run_phase(workers: dict[tuple[str, int], Any], runs: int, block: int, timeout: float):
    """`runs` timed runs of every worker, turns of `block` runs in a rotating order."""
    times: dict[tuple[str, int], list[float]] = {key: [] for key in workers}
    keys = list(workers)
    for turn in range(-(-runs // block)):
        order = keys[turn % len(keys) :] + keys[: turn % len(keys)]
        for key in order:
            n = min(block, runs - len(times[key]))
            if n > 0:
                times[key] += workers[key].ask(f"run {n}", timeout)["times"]
    return times


def bench_model(name: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    engines = ["cython", "onnxruntime"] + (["cython-before"] if args.before else [])
    model = prepare(name, ["gossamer-cython", "onnxruntime"], 3, None)
    workers: dict[tuple[str, int], Any] = {}
    result: dict[str, Any] = {"model": name, "phases": [], "errors": {}}
    try:
        for engine in engines:
            for threads in args.threads:
                (tmp / "after").mkdir(exist_ok=True)
                (tmp / "before").mkdir(exist_ok=True)
                w = start_worker(engine, model, threads, args, tmp)
                hello = w.ask(None, args.timeout)
                if "error" in hello:
                    result["errors"][f"{engine}@{threads}"] = hello["error"]
                    w.close()
                    continue
                workers[(engine, threads)] = w
        for _ in range(args.cycles):
            for loaded in (False, True):
                busy = busy_process() if loaded else None
                try:
                    time.sleep(0.3 if loaded else 0.0)
                    load = os.getloadavg()[0]
                    times = run_phase(workers, args.runs, args.block, args.timeout)
                finally:
                    if busy is not None:
                        busy.kill()
                        busy.wait()
                result["phases"].append(
                    {"loaded": loaded, "loadavg": load,
                     "times": {f"{e}@{t}": v for (e, t), v in times.items()}}
                )  # fmt: skip
    finally:
        for w in workers.values():
            w.close()
    return result


def stats(result: dict[str, Any], loaded: bool, fn: Any = statistics.median) -> dict[str, float]:
    """fn (median or min) of each worker's runs in the quiet or the loaded phases, in ms."""
    pooled: dict[str, list[float]] = {}
    for phase in result["phases"]:
        if phase["loaded"] == loaded:
            for key, values in phase["times"].items():
                pooled.setdefault(key, []).extend(values)
    return {key: fn(v) * 1e3 for key, v in pooled.items() if v}


def _ms(v: float | None) -> str:
    return f"{v:.3f}" if v else "-"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    engines = ["cython", "onnxruntime"] + (["cython-before"] if args.before else [])
    lines = [
        "# Latency under load (benchmarks/under_load.py)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; {args.runs} runs per worker "
        f"and phase, {args.cycles} quiet/loaded cycle(s); loaded = a Python busy loop pinned to "
        "core 1 (`taskset -c 1`). Median latency in ms (quiet: median / min); slowdown = loaded "
        "median / quiet median. `load avg`: the 1-minute load average before each phase (other "
        'jobs on the machine: with a load above 2, "quiet" is not quiet).',
        "",
    ]
    for t in args.threads:
        head = ["model", "load avg"]
        for e in engines:
            head += [f"{e} quiet", f"{e} loaded", f"{e} slowdown"]
        lines += [f"## {t} thread{'s' if t > 1 else ''}", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]  # fmt: skip
        for r in results:
            quiet, loaded, qmin = stats(r, False), stats(r, True), stats(r, False, min)
            loads = [p["loadavg"] for p in r["phases"]]
            row = [
                r["model"],
                "-".join(f"{v:.1f}" for v in (min(loads), max(loads))) if loads else "?",
            ]
            for e in engines:
                k = f"{e}@{t}"
                q, lo = quiet.get(k), loaded.get(k)
                row += [f"{_ms(q)} / {_ms(qmin.get(k))}", _ms(lo),
                        f"{lo / q:.2f}x" if q and lo else "-"]  # fmt: skip
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if args.before:
        lines += ["## Quiet: after / before (the extension given with --before)", "",
                  "| model | " + " | ".join(f"{t} thr median | {t} thr min" for t in args.threads)
                  + " |", "|---|" + "---|---|" * len(args.threads)]  # fmt: skip
        for r in results:
            quiet, qmin = stats(r, False), stats(r, False, min)
            row = [r["model"]]
            for t in args.threads:
                for d in (quiet, qmin):
                    a, b = d.get(f"cython@{t}"), d.get(f"cython-before@{t}")
                    row.append(f"{a / b:.2f}" if a and b else "-")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    errors = [f"- {r['model']} {k}: {v}" for r in results for k, v in r["errors"].items()]
    if errors:
        lines += ["Errors:", *errors, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--runs", type=int, default=20, help="runs per worker and phase")
    parser.add_argument("--block", type=int, default=5, help="runs per turn")
    parser.add_argument("--cycles", type=int, default=1, help="quiet/loaded phase pairs")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--before", help="an older cython extension .so to time as well")
    parser.add_argument("--out", default=str(HERE / "results" / "under_load"))
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.before:
        args.before = str(Path(args.before).resolve())
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name in args.models.split(","):
            print(f"{name} ...", file=sys.stderr, flush=True)
            try:
                results.append(bench_model(name, args, tmp))
            except (RuntimeError, FileNotFoundError) as err:
                results.append({"model": name, "phases": [], "errors": {"all": str(err)}})
            text = report(results, args)
            Path(args.out + ".md").write_text(text)
            Path(args.out + ".json").write_text(json.dumps(results, indent=1))
    print(text)


if __name__ == "__main__":
    main()
