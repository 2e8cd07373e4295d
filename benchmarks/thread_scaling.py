"""Per-node scaling from 1 to 2 threads (or any two counts) on the cython backend, with
onnxruntime's per-node profile at the same counts beside it: which nodes lose the second thread.

Both of our sessions run alternately in one process (same machine load for each count); times
are Session.run(timings=...) medians (node by node, each with its few microseconds of Python).

    .venv/bin/python benchmarks/thread_scaling.py --model resnet18 --runs 20

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import ort_node_profile, prepare  # noqa: E402


def _describe(graph, node) -> str:
    w = graph.initializers.get(node.inputs[1]) if len(node.inputs) > 1 else None
    shape = "x".join(map(str, w.shape)) if w is not None else ""
    g = int(node.attrs.get("group", 1)) if hasattr(node, "attrs") else 1
    s = node.attrs.get("strides") if hasattr(node, "attrs") else None
    extra = f" g{g}" if g > 1 else ""
    extra += f" s{list(s)[0]}" if s and list(s)[0] != 1 else ""
    return f"{node.op_type} {shape}{extra}".strip()


def ours(gsm: str, feeds: dict, counts: list[int], runs: int):
    import gossamer

    sessions = {t: gossamer.load(gsm, backends=["cython"], threads=t) for t in counts}
    graph = sessions[counts[0]].graph
    for s in sessions.values():
        for _ in range(5):
            s.run(None, feeds)
    acc: dict[int, dict[str, list[float]]] = {t: defaultdict(list) for t in counts}
    for r in range(runs):
        order = counts if r % 2 else counts[::-1]
        for t in order:
            tm: dict[str, float] = {}
            sessions[t].run(None, feeds, timings=tm)
            for k, v in tm.items():
                acc[t][k].append(v)
    rows = []
    for node in graph.nodes:
        if node.name not in acc[counts[0]]:
            continue
        med = [statistics.median(acc[t][node.name]) * 1e3 for t in counts]
        rows.append((node.name, _describe(graph, node), med))
    return rows


def theirs(onnx: str, feeds: dict, counts: list[int], runs: int):
    out = {}
    for t in counts:
        profile = ort_node_profile(onnx, feeds, t, runs)
        out[t] = {n: (args.get("op_name"), ms) for n, (args, ms) in profile.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-ort", action="store_true")
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    spec = json.loads(Path(prepare(args.model, ["gossamer-cython", "onnxruntime"], 3, None)
                           .spec_path).read_text())  # fmt: skip
    feeds = dict(np.load(spec["feeds"]))
    load0 = open("/proc/loadavg").read().split()[0]
    rows = ours(spec["gsm"], feeds, counts, args.runs)
    load1 = open("/proc/loadavg").read().split()[0]
    a, b = counts[0], counts[-1]
    print(f"{args.model}, threads {counts}, {args.runs} runs, load {load0} -> {load1}\n")
    print(f"| node | what | {a}t ms | {b}t ms | speed-up |")
    print("|---|---|---:|---:|---:|")
    tot = [0.0, 0.0]
    kinds: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for name, what, med in rows:
        tot[0] += med[0]
        tot[-1] += med[-1]
        k = what.split(" ")[0]
        kinds[k][0] += med[0]
        kinds[k][1] += med[-1]
        print(f"| {name[:28]} | {what} | {med[0]:.3f} | {med[-1]:.3f} | {med[0] / med[-1]:.2f} |")
    print(f"| total | | {tot[0]:.2f} | {tot[1]:.2f} | {tot[0] / tot[1]:.2f} |\n")
    for k, (x, y) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
        print(f"  {k:20s} {x:8.2f} {y:8.2f}  {x / y:.2f}x")
    if not args.no_ort:
        th = theirs(spec["onnx"], feeds, counts, args.runs)
        print("\nonnxruntime per kind:")
        ok: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for n, (k, v) in th[a].items():
            ok[k][0] += v
            ok[k][1] += th[b].get(n, (k, 0.0))[1]
        for k, (x, y) in sorted(ok.items(), key=lambda kv: -kv[1][0]):
            print(f"  {k:20s} {x:8.2f} {y:8.2f}  {x / max(y, 1e-9):.2f}x")
        if args.model:
            print("\nonnxruntime per node (1t, 2t):")
            for n, (k, v) in th[a].items():
                print(f"  {n[:40]:40s} {k:12s} {v:7.3f} {th[b].get(n, (k, 0))[1]:7.3f}")


if __name__ == "__main__":
    main()
