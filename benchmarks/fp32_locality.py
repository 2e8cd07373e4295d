"""Which pool calls of an fp32 blocked model lose when two threads share them: the thread pool's
trace of ordinary runs (segment replay included), each call's chunk work summed (every chunk's
own duration, whichever thread ran it), labelled by the node that made the call and its kind
(the blocked depthwise, 1x1 / kxk NCHWc convs, reorders, pools, other).

The labels come from one node-by-node run (an observer turns the trace on before each node and
off after it); the segment runs that follow make the same calls in the same order (checked: the
call counts must agree). Per kind: calls, chunks, the median over --reps runs of the summed chunk
work and of the wall time inside the calls, and the calling thread's share of the chunks.

Run it twice, once on two CPUs and once under `taskset -c 0` (the worker still takes part in the
chunking but shares the caller's CPU, so every chunk reads what its own core wrote), with --json,
then --compare A.json B.json prints per kind and per call the ratio of the chunk work:

    .venv/bin/python benchmarks/fp32_locality.py --model mobilenet_v2 --json /tmp/two.json
    taskset -c 0 .venv/bin/python benchmarks/fp32_locality.py --model mobilenet_v2 \\
        --json /tmp/one.json
    .venv/bin/python benchmarks/fp32_locality.py --compare /tmp/two.json /tmp/one.json

--split 0,1 alternates ext.nchwc_split_mode (0 the pool's dynamic chunks, 1 one static part of
the pixels per thread, 2 the conv's parts only, 3 the depthwise conv's only: src/nchwc.h) run by
run in one process, where the build has it (--pieces: pieces per part). --cpu-clock times the
chunks in their thread's CPU time (ext.pool_trace_cpu_clock), so that on a loaded machine a
chunk is not charged for the time the OS gave another process.
Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pool_balance import cython_session  # noqa: E402
from pool_trace import chunk_us, traced_events  # noqa: E402


def _kind(graph, node) -> str:
    op = node.op_type
    if op == "NchwcConv":
        w = graph.initializers.get(node.inputs[1])
        if int(node.attrs.get("group", 1)) > 1:
            return "depthwise"
        k = "x".join(map(str, w.shape[2:])) if w is not None else "?"
        return f"conv {k}"
    return op


class _Labeller:
    """Per node: the pool calls it made (node-by-node run)."""

    def __init__(self, graph) -> None:
        from gossamer.cython_kernels._native import ext

        self.ext = ext()
        self.graph = graph
        self.calls: list[tuple[str, str, int]] = []  # node name, kind, chunks per call

    def before_node(self, node, inputs) -> None:
        self.ext.pool_trace(True)

    def after_node(self, node, inputs, outputs) -> None:
        names = self.ext.POOL_TRACE_FIELDS
        for e in self.ext.pool_trace(False):
            d = dict(zip(names, e, strict=True))
            if d["alone"] != 1:
                self.calls.append((node.name, _kind(self.graph, node), int(d["chunks"])))


def measure(args) -> dict:
    from gossamer.cython_kernels._native import ext

    sess, feeds = cython_session(args.model, args.threads)
    for _ in range(5):
        sess.run(None, feeds)
    lab = _Labeller(sess.graph)
    sess.run(None, feeds, observers=[lab])
    cpus = len(os.sched_getaffinity(0))
    modes: list = [None]
    if args.split and hasattr(ext(), "nchwc_split_mode"):
        modes = [int(m) for m in args.split.split(",")]
    if args.cpu_clock:
        ext().pool_trace_cpu_clock(1)
    out: dict = {}
    load0 = Path("/proc/loadavg").read_text().split()[0]
    per: dict = {m: {"wall": [], "calls": None} for m in modes}
    for rep in range(args.reps):
        for mode in modes[rep % len(modes) :] + modes[: rep % len(modes)]:
            if mode is not None:
                ext().nchwc_split_mode(mode, args.pieces)
                sess.run(None, feeds)
            t0, t1, ev = traced_events(sess, feeds)
            ev = [e for e in ev if e["alone"] != 1]
            if len(ev) != len(lab.calls):
                sys.exit(f"{len(ev)} pool calls in a segment run, {len(lab.calls)} node by node")
            p = per[mode]
            p["wall"].append((t1 - t0) / 1e3)
            if p["calls"] is None:
                p["calls"] = [collections.defaultdict(list) for _ in ev]
            for acc, e in zip(p["calls"], ev):
                c = chunk_us(e)
                acc["work"].append(float(c.sum()))
                acc["span"].append((e["end"] - e["start"]) / 1e3)
                acc["mine"].append(e["mine"] / max(1, e["chunks"]))
                acc["chunks"].append(e["chunks"])
                # the work where both threads shared the call: a call whose chunks all ran on
                # one thread read only what that thread wrote
                share = e["mine"] / max(1, e["chunks"])
                if cpus == 1 or (e["threads"] > 1 and 0.3 <= share <= 0.7):
                    acc["shared"].append(float(c.sum()))
    load1 = Path("/proc/loadavg").read_text().split()[0]
    if args.cpu_clock:
        ext().pool_trace_cpu_clock(0)
    if modes != [None]:
        ext().nchwc_split_mode(2, 4)
    for mode in modes:
        p = per[mode]
        calls = [
            {
                "node": lab.calls[k][0],
                "kind": lab.calls[k][1],
                "chunks": statistics.median(a["chunks"]),
                "work": statistics.median(a["work"]),
                "work_min": min(a["work"]),
                "shared": statistics.median(a["shared"]) if a["shared"] else float("nan"),
                "shared_runs": len(a["shared"]),
                "span": statistics.median(a["span"]),
                "mine": statistics.median(a["mine"]),
            }
            for k, a in enumerate(p["calls"])
        ]
        out[str(mode)] = {
            "model": args.model,
            "threads": args.threads,
            "cpus": cpus,
            "load": [load0, load1],
            "wall_median": statistics.median(p["wall"]),
            "wall_min": min(p["wall"]),
            "cpu_clock": args.cpu_clock,
            "calls": calls,
        }
    return out


def _by_kind(calls: list[dict]) -> dict[str, dict[str, float]]:
    kinds: dict[str, dict[str, float]] = collections.defaultdict(lambda: collections.Counter())
    for c in calls:
        k = kinds[c["kind"]]
        k["calls"] += 1
        k["chunks"] += c["chunks"]
        k["work"] += c["work"]
        k["work_min"] += c["work_min"]
        k["span"] += c["span"]
        if c["shared"] == c["shared"]:
            k["shared calls"] += 1
            k["shared"] += c["shared"]
            k["shared min"] += c["work_min"]
    return kinds


def report(res: dict) -> None:
    for mode, r in res.items():
        label = "" if mode == "None" else f"nchwc_split_mode {mode}: "
        print(f"{label}{r['model']}, {r['threads']} threads on {r['cpus']} CPUs, load "
              f"{r['load'][0]} -> {r['load'][1]}: wall median {r['wall_median']:.0f} us, "
              f"min {r['wall_min']:.0f} us")  # fmt: skip
        print("| kind | calls | chunks | chunk work us (median) | sum of per-call minima | "
              "in calls us | shared calls | their work where shared (median) | "
              "their minima |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind, k in sorted(_by_kind(r["calls"]).items(), key=lambda kv: -kv[1]["work"]):
            print(f"| {kind} | {k['calls']} | {k['chunks']:.0f} | {k['work']:.0f} | "
                  f"{k['work_min']:.0f} | {k['span']:.0f} | {k['shared calls']} | "
                  f"{k['shared']:.0f} | {k['shared min']:.0f} |")  # fmt: skip


def compare(a_path: str, b_path: str, mode: str) -> None:
    a = json.loads(Path(a_path).read_text())[mode]
    b = json.loads(Path(b_path).read_text())[mode]
    print(f"A {a_path}: {a['cpus']} CPUs, load {a['load']}; B {b_path}: {b['cpus']} CPUs, "
          f"load {b['load']}")  # fmt: skip
    ka, kb = _by_kind(a["calls"]), _by_kind(b["calls"])
    print("| kind | A work us | B work us | A / B | A in calls | B in calls |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in sorted(ka, key=lambda k: -ka[k]["work"]):
        x, y = ka[kind], kb.get(kind, {"work": float("nan"), "span": float("nan")})
        print(f"| {kind} | {x['work']:.0f} | {y['work']:.0f} | {x['work'] / y['work']:.2f} | "
              f"{x['span']:.0f} | {y['span']:.0f} |")  # fmt: skip
    print("\nper call (A / B chunk work), largest absolute loss first:")
    rows = sorted(zip(a["calls"], b["calls"]), key=lambda p: -(p[0]["work"] - p[1]["work"]))
    for x, y in rows[:25]:
        print(f"  {x['node'][:40]:40s} {x['kind']:10s} chunks {x['chunks']:4.0f}  "
              f"{x['work']:7.1f} vs {y['work']:7.1f} us ({x['work'] / y['work']:.2f}), "
              f"caller {100 * x['mine']:.0f} %")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--json", default="")
    ap.add_argument("--split", default="", help="ext.nchwc_split_mode values to alternate: 0,1")
    ap.add_argument("--pieces", type=int, default=4, help="pieces per part in the split modes")
    ap.add_argument("--cpu-clock", action="store_true", help="chunks timed in thread CPU time")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    ap.add_argument("--mode", default="None", help="which mode's calls --compare reads")
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare, args.mode)
        return
    res = measure(args)
    report(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res))


if __name__ == "__main__":
    main()
