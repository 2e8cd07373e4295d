"""The modelled 2-thread time of a ResNet / SqueezeNet run with this tree's chunking against the
chunking main had before the 2-thread balance commits (CPU round 2), both from the same traced
runs: main's chunks are rebuilt by regrouping this tree's measured chunk durations, so machine
load touches both alike (pool_balance.py describes the model: chunks in index order onto the
first free seat, plus the time outside pool calls, node by node).

Main's chunking, as rebuilt here (conv shapes of ResNet-18/50 and SqueezeNet 1.1 only):
- Winograd on 13 panels (56x56 planes): main cut them in chunks of 4, 4, 4, 1 panels (this tree:
  2-panel chunks) -> this tree's chunks summed in pairs;
- Winograd on 4 panels (28x28 / 27x27 planes, 128 output channels): main ran the plane as one
  chunk, alone on the caller -> the tiles' work summed onto one thread (the padding call as now);
- im2col convs (3x3 strided, and the 512-channel 7x7 ones): main packed B on the caller alone
  -> the packing call's chunks summed onto one thread.

    .venv/bin/python benchmarks/balance_vs_main_chunking.py --model resnet18 --reps 15

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from pool_balance import cython_session, makespan, traced_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument(
        "--stat",
        choices=["median", "min"],
        default="median",
        help="per node over the runs (min: its least disturbed run, on a busy machine)",
    )
    args = ap.parse_args()
    sess, feeds = cython_session(args.model, 2)
    graph = sess.graph
    nodes = {n.name: n for n in graph.nodes}
    for _ in range(5):
        sess.run(None, feeds)
    res: dict[str, dict] = {}
    load0 = open("/proc/loadavg").read().split()[0]
    for _ in range(args.reps):
        for name, node_us, calls in traced_run(sess, feeds):
            durs = [d for _, d in calls]
            serial = node_us - sum((e["end"] - e["start"]) / 1e3 for e, _ in calls)
            new = serial + sum(makespan(d, 2) for d in durs)
            old, kind = new, ""
            node = nodes[name]
            w = graph.initializers.get(node.inputs[1]) if len(node.inputs) > 1 else None
            conv3 = w is not None and w.ndim == 4 and w.shape[2] == 3 and w.shape[1] > 4
            stride = list(node.attrs.get("strides", [1, 1]))[0]
            sizes = [len(d) for d in durs]
            if conv3 and stride == 1 and sizes[-2:] == [16, 7]:
                pairs = np.array([durs[-1][i : i + 2].sum() for i in range(0, 7, 2)])
                old = serial + sum(makespan(d, 2) for d in durs[:-1]) + makespan(pairs, 2)
                kind = "winograd, 13 panels"
            elif conv3 and stride == 1 and w.shape[0] == 128:
                # this tree: [padding call,] 2 even chunks or 3 phase calls; main: one chunk alone
                pad = [d for d in durs if len(d) == 16][:1] if sizes.count(16) in (1, 4) else []
                rest = durs[len(pad) :]
                old = serial + sum(makespan(d, 2) for d in pad) + sum(d.sum() for d in rest)
                kind = "winograd, 4 panels"
            elif conv3 and (stride == 2 or w.shape[0] == 512) and len(durs) == 2:
                old = serial + durs[0].sum() + makespan(durs[1], 2)
                kind = "im2col, packing"
            r = res.setdefault(name, {"kind": kind, "one": [], "new": [], "old": []})
            r["one"].append(serial + sum(d.sum() for d in durs))
            r["new"].append(new)
            r["old"].append(old)
    load1 = open("/proc/loadavg").read().split()[0]
    print(f"{args.model}, 2 threads, modelled ms ({args.stat} per node of {args.reps} traced runs "
          f"node by node), load {load0} -> {load1}\n")  # fmt: skip
    print("| node | conv | 1 thread (work + serial) | main's chunking | this tree's |")
    print("|---|---|---:|---:|---:|")
    tot = {"one": 0.0, "new": 0.0, "old": 0.0}
    for name, r in res.items():
        agg = min if args.stat == "min" else statistics.median
        md = {k: agg(r[k]) / 1e3 for k in tot}
        for k in tot:
            tot[k] += md[k]
        if r["kind"]:
            print(f"| {name} | {r['kind']} | {md['one']:.3f} | {md['old']:.3f} | {md['new']:.3f} |")
    print(f"| all nodes | | {tot['one']:.2f} | {tot['old']:.2f} ({tot['one'] / tot['old']:.2f}x) "
          f"| {tot['new']:.2f} ({tot['one'] / tot['new']:.2f}x) |")  # fmt: skip


if __name__ == "__main__":
    main()
