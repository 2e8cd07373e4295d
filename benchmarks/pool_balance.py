"""How well a cython run's parallel work would spread over T threads, from the thread pool's
trace with per-chunk durations (ext.pool_trace / pool_trace_chunks): a load-robust measure, since
it models the T-thread time from each chunk's own duration instead of timing a whole run on a
shared machine.

Per node (a run node by node, an observer marking each node's start and end): the work inside
pool calls (the sum of its chunks' durations), the time outside them (serial: Python, packing on
the caller, small kernels), the pool calls and chunks, and the modelled T-thread time of its
pool calls: chunks handed out in index order to whichever of T seats is free first (as the pool
claims them), plus the serial time. "bound" = modelled speed-up from 1 to T threads of the node's
time (taking work + serial as its 1-thread time); "model vs 1t" = the node's time in a
1-thread session (run alternately) over that model. Nodes whose bound is low lose the second
thread to too few or too uneven chunks or to serial work, whatever the machine's load. Chunk
durations are measured with the run at T threads (their cache/bandwidth sharing included,
preemption by other processes too: medians over --reps runs).

    .venv/bin/python benchmarks/pool_balance.py --model resnet18 --threads 2 --reps 7

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402


class _Marks:
    def __init__(self) -> None:
        self.spans: list[tuple[str, int, int]] = []
        self._t0 = 0

    def before_node(self, node, inputs) -> None:
        self._t0 = time.monotonic_ns()

    def after_node(self, node, inputs, outputs) -> None:
        self.spans.append((node.name, self._t0, time.monotonic_ns()))


def cython_session(model: str, threads: int) -> tuple[Any, dict[str, np.ndarray]]:
    """The benchmark model's -O3 .gsm in a cython-only session at `threads`, and its feeds."""
    import gossamer

    spec = prepare(model, ["gossamer-cython"], 3, None).spec
    with np.load(spec["feeds"]) as stored:
        feeds = {k: stored[k] for k in stored.files}
    return gossamer.load(spec["gsm"], backends=["cython"], threads=threads), feeds


def makespan(durations: np.ndarray, seats: int) -> float:
    """greedy list scheduling in index order (the pool's atomic counter)"""
    if seats <= 1 or len(durations) <= 1:
        return float(durations.sum())
    free = [0.0] * seats
    for d in durations:
        t = heapq.heappop(free)
        heapq.heappush(free, t + float(d))
    return max(free)


def traced_run(sess, feeds) -> list[tuple[str, float, list[tuple[dict, np.ndarray]]]]:
    """One run node by node with the pool trace on: per node, in order, its name, its time (us)
    and its top-level pool calls, each as (the trace event, its chunks' durations in us)."""
    from gossamer.cython_kernels._native import ext

    names = ext().POOL_TRACE_FIELDS
    marks = _Marks()
    ext().pool_trace(True)
    sess.run(None, feeds, observers=[marks])
    events = [dict(zip(names, e, strict=True)) for e in ext().pool_trace(False)]
    # top-level calls: a call nested in a chunk of another runs alone (alone == 1); its time is in
    # the outer chunk's
    top = [e for e in events if e["alone"] != 1]
    out = []
    k = 0
    for name, t0, t1 in marks.spans:
        calls = []
        while k < len(top) and top[k]["start"] < t0:
            k += 1
        while k < len(top) and top[k]["start"] < t1:
            e = top[k]
            chunks = ext().pool_trace_chunks(e["first"], e["chunks"]).astype(np.float64) / 1e3
            calls.append((e, chunks))
            k += 1
        out.append((name, (t1 - t0) / 1e3, calls))
    return out


def one_run(sess, feeds, seats: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, node_us, calls in traced_run(sess, feeds):
        r = {"node us": node_us, "calls": 0, "chunks": 0, "work us": 0.0,
             "in calls us": 0.0, "model us": 0.0, "1-chunk calls": 0}  # fmt: skip
        for e, d in calls:
            r["calls"] += 1
            r["chunks"] += e["chunks"]
            r["1-chunk calls"] += e["chunks"] == 1
            r["work us"] += d.sum()
            r["in calls us"] += (e["end"] - e["start"]) / 1e3
            r["model us"] += makespan(d, seats)
        r["serial us"] = max(0.0, r["node us"] - r["in calls us"])
        out[name] = r
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--all", action="store_true", help="every node, not only those over 1 %")
    ap.add_argument(
        "--stat",
        choices=["median", "min"],
        default="median",
        help="per node and column over the runs (min: least disturbed, busy machine)",
    )
    args = ap.parse_args()
    sess, feeds = cython_session(args.model, args.threads)
    graph = sess.graph
    for _ in range(5):
        sess.run(None, feeds)
    load0 = open("/proc/loadavg").read().split()[0]
    # a 1-thread session run alternately: each node's 1-thread time beside the chunk work at T
    # threads (work / 1-thread time above 1: the threads slow each other, e.g. sharing L3 or
    # memory bandwidth, or the chunks repeat work such as packing)
    solo, _ = cython_session(args.model, 1)
    for _ in range(3):
        solo.run(None, feeds)
    runs, solo_runs = [], []
    for _ in range(args.reps):
        runs.append(one_run(sess, feeds, args.threads))
        marks = _Marks()
        solo.run(None, feeds, observers=[marks])
        solo_runs.append({n: (t1 - t0) / 1e3 for n, t0, t1 in marks.spans})
    load1 = open("/proc/loadavg").read().split()[0]
    agg = min if args.stat == "min" else statistics.median
    med = {n: {k: agg(r[n][k] for r in runs) for k in runs[0][n]} for n in runs[0]}
    for n in med:
        med[n]["1t us"] = agg(r.get(n, 0.0) for r in solo_runs)
    ops = {n.name: n for n in graph.nodes}
    print(f"{args.model}, {args.threads} threads, {args.stat} of {args.reps} runs node by node, "
          f"load {load0} -> {load1}\n")  # fmt: skip
    print("| node | op | calls | chunks | 1t us | work us | serial us | model T us | bound | "
          "model vs 1t |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    tot = defaultdict(float)
    whole = sum(m["work us"] + m["serial us"] for m in med.values())
    for name, m in med.items():
        one = m["work us"] + m["serial us"]
        model = m["model us"] + m["serial us"]
        for key, v in (("one", one), ("model", model), ("work", m["work us"]),
                       ("serial", m["serial us"]), ("solo", m["1t us"])):  # fmt: skip
            tot[key] += v
        if not args.all and one < 0.01 * whole:
            continue
        node = ops.get(name)
        w = graph.initializers.get(node.inputs[1]) if node and len(node.inputs) > 1 else None
        what = node.op_type if node else "?"
        what += " " + "x".join(map(str, w.shape)) if w is not None else ""
        print(f"| {name[:24]} | {what} | {m['calls']:.0f} | {m['chunks']:.0f} | {m['1t us']:.0f} "
              f"| {m['work us']:.0f} | {m['serial us']:.0f} | {model:.0f} | "
              f"{one / max(model, 1e-9):.2f} | {m['1t us'] / max(model, 1e-9):.2f} |")  # fmt: skip
    print(f"\ntotal: work {tot['work']:.0f} us + serial {tot['serial']:.0f} us = "
          f"{tot['one']:.0f} us; modelled at {args.threads} threads {tot['model']:.0f} us: "
          f"bound {tot['one'] / tot['model']:.2f}x (ideal {args.threads}x)")  # fmt: skip
    print(f"1-thread session, node by node: {tot['solo']:.0f} us "
          f"({tot['solo'] / tot['model']:.2f}x the model at {args.threads} threads)")  # fmt: skip


if __name__ == "__main__":
    main()
