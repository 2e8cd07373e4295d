"""Where a cython run's time goes between the thread pool and the rest, steady state against the
first run after an idle gap, from the pool's own trace (ext.pool_trace, src/threadpool.h).

Per run: wall time, time inside pool calls, time from the run's start to its first pool call
(the run's Python work), pool calls (those that ran alone: another call held the pool), calls no
worker joined, sleeping workers the calls had to wake, the median / largest delay from a call's
start to a worker's first chunk, and the chunks the calling thread ran itself. The runs alternate
the thread pool's early wake-up on and off (segments.run_starts: gk_pool_prewake), so both are
measured under the same machine load.

    python benchmarks/pool_trace.py --model resnet18 --threads 2 --gap 0.5 --reps 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pool_balance import cython_session  # noqa: E402


def traced_events(sess, feeds) -> tuple[int, int, list[dict]]:
    """One run with the pool trace on: its start and end (time.monotonic_ns) and the trace's
    events, each a dict of ext().POOL_TRACE_FIELDS."""
    from gossamer.cython_kernels._native import ext

    ext().pool_trace(True)
    t0 = time.monotonic_ns()
    sess.run(None, feeds)
    t1 = time.monotonic_ns()
    names = ext().POOL_TRACE_FIELDS
    return t0, t1, [dict(zip(names, e, strict=True)) for e in ext().pool_trace(False)]


def chunk_us(event: dict) -> np.ndarray:
    """The durations (us) of a traced call's chunks."""
    from gossamer.cython_kernels._native import ext

    return ext().pool_trace_chunks(event["first"], event["chunks"]).astype(np.float64) / 1e3


def traced_run(sess, feeds) -> dict[str, float]:
    t0, t1, ev = traced_events(sess, feeds)
    pooled = [e for e in ev if e["threads"] > 1]
    joins = [(e["joined"] - e["start"]) / 1e3 for e in pooled if e["joined"] > 0]
    chunks = sum(e["chunks"] for e in pooled)
    return {
        "wall ms": (t1 - t0) / 1e6,
        "in calls ms": sum(e["end"] - e["start"] for e in ev) / 1e6,
        "to 1st call us": (ev[0]["start"] - t0) / 1e3 if ev else 0.0,
        "calls": len(ev),
        "alone": len(ev) - len(pooled),
        "no join": sum(e["joined"] == 0 for e in pooled),
        "woken": sum(e["woken"] for e in pooled),
        "join med us": statistics.median(joins) if joins else 0.0,
        "join max us": max(joins, default=0.0),
        "caller chunks %": 100 * sum(e["mine"] for e in pooled) / max(1, chunks),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18", help="a benchmark model (bench_models)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gap", type=float, default=0.5, help="idle seconds before a cold run")
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args(argv)
    from gossamer.cython_kernels import segments

    sess, feeds = cython_session(args.model, args.threads)
    for _ in range(5):
        sess.run(None, feeds)
    prewake = segments._PREWAKE
    rows: dict[str, list[dict[str, float]]] = {}
    for rep in range(args.reps):
        for on in (True, False) if rep % 2 else (False, True):
            segments._PREWAKE = prewake if on else None
            label = "prewake on" if on else "prewake off"
            time.sleep(args.gap)
            rows.setdefault(f"after {args.gap:g} s, {label}", []).append(traced_run(sess, feeds))
            for _ in range(2):
                sess.run(None, feeds)
            rows.setdefault(f"steady, {label}", []).append(traced_run(sess, feeds))
    segments._PREWAKE = prewake
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.model}, {args.threads} threads, medians of {args.reps} runs (load {load})")
    keys = list(next(iter(rows.values()))[0])
    print("| run | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for label, runs in sorted(rows.items()):
        cells = [f"{statistics.median(r[k] for r in runs):.1f}" for k in keys]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
