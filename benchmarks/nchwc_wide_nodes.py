"""Per-node times of a benchmark model under the narrow and the wide blocked-layout pass
(GOSSAMER_BLOCKED_WIDE=0 / 1), both sessions in one process, runs interleaved: median per node
from Session.run(timings=...) (each with a few microseconds of Python dispatch), the convs'
weights and the per-op-type sums.

    .venv/bin/python benchmarks/nchwc_wide_nodes.py --model resnet18 --threads 1 --runs 20

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import glob
import os
import statistics
from collections import defaultdict

import numpy as np

import gossamer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    d = glob.glob(os.path.expanduser(f"~/.cache/gossamer/bench/{args.model}-*"))[0]
    feeds = dict(np.load(f"{d}/feeds.npz"))
    sessions = {}
    for key in ("narrow", "wide"):
        os.environ["GOSSAMER_BLOCKED_WIDE"] = "1" if key == "wide" else "0"
        sessions[key] = gossamer.load(f"{d}/O3.gsm", backends=["cython"], threads=args.threads)
    os.environ.pop("GOSSAMER_BLOCKED_WIDE")
    times: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in sessions}
    for s in sessions.values():
        for _ in range(3):
            s.run(None, feeds)
    load0 = open("/proc/loadavg").read().split()[0]
    for _ in range(args.runs):
        for key, s in sessions.items():
            t: dict[str, float] = {}
            s.run(None, feeds, timings=t)
            for name, v in t.items():
                times[key][name].append(v)
    load1 = open("/proc/loadavg").read().split()[0]
    print(f"{args.model}, {args.threads} thread(s), load {load0} -> {load1}")
    for key, s in sessions.items():
        g = s.graph
        print(f"\n{key}: {g.metadata.get('gossamer.layout')}")
        sums: dict[str, float] = defaultdict(float)
        for n in g.nodes:
            if n.name not in times[key]:
                continue
            ms = statistics.median(times[key][n.name]) * 1e3
            w = g.initializers.get(n.inputs[1]) if len(n.inputs) > 1 else None
            shape = "x".join(map(str, w.shape)) if getattr(w, "ndim", 0) == 4 else ""
            sums[n.op_type] += ms
            print(f"  {n.op_type:24s} {shape:16s} {ms:7.3f}  {n.name}")
        total = sum(sums.values())
        ranked = dict(sorted(((k, round(v, 2)) for k, v in sums.items()), key=lambda kv: -kv[1]))
        print(f"  sums: {ranked} total {total:.2f}")


if __name__ == "__main__":
    main()
