"""Where a cython run's 2-thread time goes, call by call of the thread pool: steady-state runs
(segments, no observer) with the pool's trace on (ext.pool_trace, src/threadpool.h).

Per traced run: the run's wall time; time inside pool calls and outside them; the chunks' summed
durations (the work); the wake-up delay (a call's start to a worker's first chunk) and the calls
no worker joined; the calling thread's wait at the end of each call (from when it found no chunk
left to claim until the last started chunk finished: imbalance, a late worker, a worker the OS
took off its core); "lost" = a call's wall time minus its ideal (its work spread evenly over the
threads, or its longest chunk if that is longer); and the calls that took longer than their work
(they would have been faster on the calling thread alone). Totals are medians over --reps runs;
then the calls of the median run grouped by work per call.

    .venv/bin/python benchmarks/pool_calls.py --models mobilenet_v2,squeezenet1_1,lstm --reps 15

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pool_balance import cython_session  # noqa: E402
from pool_trace import chunk_us, traced_events  # noqa: E402


def call_rows(events: list[dict]) -> list[dict[str, float]]:
    """Per pooled call (threads > 1): wall, work, longest chunk, wake-up delay (-1: nobody
    joined), the caller's wait at the end, the ideal time and what was lost to it (us)."""
    rows = []
    for e in events:
        if e["threads"] <= 1:
            continue
        d = chunk_us(e)
        wall = (e["end"] - e["start"]) / 1e3
        work = float(d.sum()) if d.size else wall
        ideal = max(work / e["threads"], float(d.max()) if d.size else 0.0)
        rows.append({
            "wall": wall,
            "work": work,
            "chunks": e["chunks"],
            "wake": (e["joined"] - e["start"]) / 1e3 if e["joined"] > 0 else -1.0,
            "wait": (e["end"] - e["idle"]) / 1e3,
            "ideal": ideal,
            "lost": wall - ideal,
        })  # fmt: skip
    return rows


def run_totals(t0: int, t1: int, events: list[dict]) -> dict[str, float]:
    rows = call_rows(events)
    wakes = [r["wake"] for r in rows if r["wake"] >= 0]
    slower = [r for r in rows if r["wall"] > r["work"]]
    in_calls = sum(e["end"] - e["start"] for e in events) / 1e6
    return {
        "wall ms": (t1 - t0) / 1e6,
        "in calls ms": in_calls,
        "outside ms": (t1 - t0) / 1e6 - in_calls,
        "work ms": sum(r["work"] for r in rows) / 1e3,
        "calls": len(events),
        "alone": len(events) - len(rows),
        "no join": sum(r["wake"] < 0 for r in rows),
        "wake med us": statistics.median(wakes) if wakes else 0.0,
        "wake max us": max(wakes, default=0.0),
        "wait ms": sum(r["wait"] for r in rows) / 1e3,
        "wait max us": max((r["wait"] for r in rows), default=0.0),
        "lost ms": sum(r["lost"] for r in rows) / 1e3,
        "slower than alone": len(slower),
        "their excess ms": sum(r["wall"] - r["work"] for r in slower) / 1e3,
    }


def by_size(rows: list[dict[str, float]]) -> list[str]:
    """The calls grouped by work per call (decades of us)."""
    groups: dict[int, list[dict[str, float]]] = {}
    for r in rows:
        groups.setdefault(int(np.floor(np.log10(max(r["work"], 1.0)))), []).append(r)
    out = [
        "| work per call (us) | calls | chunks | wall ms | work ms | ideal ms | lost ms | "
        "caller's wait ms | wake med us |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in sorted(groups):
        g = groups[k]
        wakes = [r["wake"] for r in g if r["wake"] >= 0]
        out.append(
            f"| {10**k:g}-{10 ** (k + 1):g} | {len(g)} | {sum(r['chunks'] for r in g)} | "
            f"{sum(r['wall'] for r in g) / 1e3:.3f} | {sum(r['work'] for r in g) / 1e3:.3f} | "
            f"{sum(r['ideal'] for r in g) / 1e3:.3f} | {sum(r['lost'] for r in g) / 1e3:.3f} | "
            f"{sum(r['wait'] for r in g) / 1e3:.3f} | "
            f"{statistics.median(wakes) if wakes else 0.0:.1f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mobilenet_v2,squeezenet1_1,lstm")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--cpu-clock",
        action="store_true",
        help="time chunks in their thread's CPU time (a chunk whose thread the OS took off its "
        "core is not charged for it: 'lost' then includes that)",
    )
    args = parser.parse_args(argv)
    from gossamer.cython_kernels._native import ext

    ext().pool_trace_cpu_clock(1 if args.cpu_clock else 0)
    for model in args.models.split(","):
        sess, feeds = cython_session(model, args.threads)
        for _ in range(args.warmup):
            sess.run(None, feeds)
        load0 = Path("/proc/loadavg").read_text().split()[0]
        runs = [traced_events(sess, feeds) for _ in range(args.reps)]
        load1 = Path("/proc/loadavg").read_text().split()[0]
        totals = [run_totals(*r) for r in runs]
        clock = "thread CPU time" if args.cpu_clock else "wall clock"
        print(f"\n### {model}, {args.threads} threads, {args.reps} traced runs, chunks in {clock} "
              f"(load {load0} -> {load1})\n")  # fmt: skip
        keys = list(totals[0])
        print("| | " + " | ".join(keys) + " |")
        print("|---|" + "---:|" * len(keys))
        for label, stat in (("median", statistics.median), ("min", min)):
            cells = [f"{stat(t[k] for t in totals):.3g}" for k in keys]
            print(f"| {label} | " + " | ".join(cells) + " |")
        walls = [t["wall ms"] for t in totals]
        median_run = runs[int(np.argsort(walls)[len(walls) // 2])]
        print(f"\nThe median run's calls by size (wall {statistics.median(walls):.3f} ms):\n")
        print("\n".join(by_size(call_rows(median_run[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
