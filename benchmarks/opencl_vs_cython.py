"""Each benchmark model (benchmarks/bench_models.py: the built-in models and the shared real ONNX
models) on the opencl backend vs the cython backend, side by side in one process, on the same
cores (PoCL's CPU device runs on this machine's cores, as the cython kernels do).

Per model: the share of nodes opencl runs, the best and median latency of --runs runs on each
backend (interleaved: one cython run, one opencl run, ...) and their ratio (opencl / cython:
below 1 is opencl faster), and for opencl the session creation time cold (an empty program
cache, nothing in memory) and warm (programs read back from the disk cache, as a new process
would), next to the creation time of a reference-only session (the optimiser and planning every
session pays), plus the first run (PoCL compiles a work-group function per kernel and local size at
first launch, kept in its own ~/.cache/pocl). Not a test: no timing is asserted; run nothing
else heavy meanwhile.

    .venv/bin/python benchmarks/opencl_vs_cython.py [--models mobilenet_v2,mtcnn_onet] [--runs 10]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_models  # noqa: E402

import gossamer  # noqa: E402


def model_and_feeds(name: str) -> tuple[Any, dict[str, Any]]:
    if name in bench_models.BUILTIN:
        return bench_models._builtin(name)().SerializeToString(), bench_models.BUILTIN[name]()
    path = bench_models.MODELS_DIR / f"{name}.onnx"
    return str(path), bench_models._real_feeds(name, path.read_bytes())


def latencies(sess: gossamer.Session, feeds: dict[str, Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        sess.run(None, feeds)
        out.append(time.perf_counter() - start)
    return out


def creation(model: Any, feeds: dict[str, Any]) -> dict[str, float]:
    """opencl session creation, cold then warm, and the first run after each."""
    from gossamer.opencl_plugin import program_cache

    start = time.perf_counter()
    gossamer.load(model, backends=[])  # what every session pays: import, optimise, plan
    out = {"base_create_s": time.perf_counter() - start}
    with tempfile.TemporaryDirectory() as cache:
        before = os.environ.get("GOSSAMER_CACHE_DIR")
        os.environ["GOSSAMER_CACHE_DIR"] = cache
        try:
            for kind in ("cold", "warm"):
                program_cache.clear_memory()
                start = time.perf_counter()
                sess = gossamer.load(model, backends=["opencl"])
                out[f"{kind}_create_s"] = time.perf_counter() - start
                start = time.perf_counter()
                sess.run(None, feeds)
                out[f"{kind}_first_run_s"] = time.perf_counter() - start
        finally:
            if before is None:
                os.environ.pop("GOSSAMER_CACHE_DIR", None)
            else:
                os.environ["GOSSAMER_CACHE_DIR"] = before
    return out


def bench(name: str, runs: int) -> dict[str, Any]:
    model, feeds = model_and_feeds(name)
    row: dict[str, Any] = {"model": name, **creation(model, feeds)}
    sessions = {b: gossamer.load(model, backends=[b]) for b in ("cython", "opencl")}
    times: dict[str, list[float]] = {b: [] for b in sessions}
    for backend, sess in sessions.items():
        placed = list(sess.placement.backend_of.values())
        row[f"{backend}_share"] = placed.count(backend) / len(placed)
        sess.run(None, feeds)  # warm-up
    for _ in range(runs):  # interleaved, so load from other processes hits both alike
        for backend, sess in sessions.items():
            times[backend] += latencies(sess, feeds, 1)
    for backend, t in times.items():
        row[f"{backend}_best_ms"] = min(t) * 1e3
        row[f"{backend}_median_ms"] = statistics.median(t) * 1e3
    row["ratio_best"] = row["opencl_best_ms"] / row["cython_best_ms"]
    row["ratio_median"] = row["opencl_median_ms"] / row["cython_median_ms"]
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| model | opencl nodes | cython ms (best/median) | opencl ms (best/median) | "
        "opencl/cython (best/median) | create cold s | create warm s | warm/cold | "
        "create, reference only s | first run cold / warm s |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error']} |" + " |" * 8)
            continue
        lines.append(
            f"| {r['model']} | {r['opencl_share']:.0%} | {r['cython_best_ms']:.2f} / "
            f"{r['cython_median_ms']:.2f} | {r['opencl_best_ms']:.2f} / "
            f"{r['opencl_median_ms']:.2f} | {r['ratio_best']:.2f} / {r['ratio_median']:.2f} | "
            f"{r['cold_create_s']:.2f} | {r['warm_create_s']:.2f} | "
            f"{r['warm_create_s'] / r['cold_create_s']:.0%} | {r['base_create_s']:.2f} | "
            f"{r['cold_first_run_s']:.2f} / {r['warm_first_run_s']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help="comma-separated (default: every benchmark model)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = p.parse_args()
    names = args.models.split(",") if args.models else bench_models.all_model_names()
    rows = []
    for name in names:
        try:
            rows.append(bench(name, args.runs))
        except Exception as err:  # one model's failure is a row, not the end of the run
            rows.append({"model": name, "error": f"{type(err).__name__}: {err}"[:200]})
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
