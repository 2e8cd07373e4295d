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
        [--json out.json] [--processes]

The in-process "cold" creation empties only Gossamer's program cache: PoCL keeps its own compiled
programs in ~/.cache/pocl, so that is not a first start. --processes adds the honest figure:
fresh processes with both caches empty, then both warm.
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


# Before each timed run: PoCL's worker threads keep the cores busy for a few milliseconds after
# a run returns, and a cython run started at once waits on its OpenMP threads (measured here:
# ppocr_mobile_v2_cls on cython 2.3 ms alone, 300 ms right after an opencl run, 2.5 ms with a
# 20 ms pause). Without the pause the interleaved cython times were mostly that wait.
SETTLE_S = 0.05


def latencies(sess: gossamer.Session, feeds: dict[str, Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        time.sleep(SETTLE_S)
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


_CHILD = """
import sys, time
sys.path.insert(0, {bench_dir!r})
from opencl_vs_cython import model_and_feeds
import gossamer
model, feeds = model_and_feeds({name!r})
start = time.perf_counter()
gossamer.load(model, backends=[{backend!r}] if {backend!r} else [])
print(time.perf_counter() - start)
"""


def process_creation(name: str) -> dict[str, float]:
    """Session creation in fresh processes (imports done, model bytes read): opencl with both
    program caches empty (ours and PoCL's own, POCL_CACHE_DIR), then again with both filled by
    that first process (the second start of an application), and a reference-only session
    (the optimiser, shape inference and planning every session pays)."""
    import subprocess

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as pocl:
        env = {**os.environ, "GOSSAMER_CACHE_DIR": ours, "POCL_CACHE_DIR": pocl}
        for key, backend in (("proc_cold_s", "opencl"), ("proc_warm_s", "opencl"),
                             ("proc_base_s", "")):  # fmt: skip
            code = _CHILD.format(bench_dir=str(Path(__file__).parent), name=name, backend=backend)
            done = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            out[key] = float(done.stdout.strip().splitlines()[-1])
    return out


def bench(name: str, runs: int, processes: bool = False) -> dict[str, Any]:
    model, feeds = model_and_feeds(name)
    row: dict[str, Any] = {"model": name, **creation(model, feeds)}
    if processes:
        row.update(process_creation(name))
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
    procs = [r for r in rows if "proc_cold_s" in r]
    if procs:
        lines += [
            "",
            "Session creation in fresh processes (both program caches empty, then filled):",
            "",
            "| model | cold s | warm s | warm/cold | reference only s |",
            "|---|---|---|---|---|",
        ]
        for r in procs:
            lines.append(
                f"| {r['model']} | {r['proc_cold_s']:.2f} | {r['proc_warm_s']:.2f} | "
                f"{r['proc_warm_s'] / r['proc_cold_s']:.0%} | {r['proc_base_s']:.2f} |"
            )
    return "\n".join(lines)


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.1f}" for v in avg)


def report_end(
    rows: list, load_start: tuple[float, float, float], json_path: Path | None, **meta: Any
) -> None:
    """Prints the load average at the start and now (the cores are shared: it says how far the
    figures can be trusted) and writes the rows, with both and `meta`, as JSON where asked."""
    load_end = os.getloadavg()
    print(f"\nload average (1/5/15 min): {_load(load_start)} at start, {_load(load_end)} at end")
    if json_path:
        meta = {"load_start": load_start, "load_end": load_end, **meta}
        json_path.write_text(json.dumps({"rows": rows, **meta}, indent=1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help="comma-separated (default: every benchmark model)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    p.add_argument(
        "--processes",
        action="store_true",
        help="also time session creation in fresh processes, PoCL's own cache empty then warm",
    )
    args = p.parse_args()
    names = args.models.split(",") if args.models else bench_models.all_model_names()
    load_start = os.getloadavg()
    rows = []
    for name in names:
        try:
            rows.append(bench(name, args.runs, args.processes))
        except Exception as err:  # one model's failure is a row, not the end of the run
            rows.append({"model": name, "error": f"{type(err).__name__}: {err}"[:200]})
        print(table(rows[-1:]).splitlines()[2], flush=True)
    print()
    print(table(rows))
    report_end(rows, load_start, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
