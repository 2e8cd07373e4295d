"""Per-node times of a blocked model on the cython backend against onnxruntime's own profile
(SessionOptions.enable_profiling), conv by conv in graph order (both run the convs in the
model's order; onnxruntime's NchwcTransformer keeps one node per conv), with the per-kind sums.

    .venv/bin/python benchmarks/nchwc_node_profile.py --model mobilenet_v2 --threads 1 --runs 30

Gossamer's times come from Session.run(timings=...) (median per node; each includes the node's
few microseconds of Python dispatch, which a whole run's segment replay does not pay);
onnxruntime's from its kernel_time events (median per node). Not a test: nothing is asserted."""

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


def _ours(gsm: str, feeds: dict, threads: int, runs: int) -> list[tuple[str, str, float]]:
    import gossamer

    sess = gossamer.load(gsm, backends=["cython"], threads=threads)
    graph = sess.graph
    for _ in range(5):
        sess.run(None, feeds)
    acc: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        t: dict[str, float] = {}
        sess.run(None, feeds, timings=t)
        for k, v in t.items():
            acc[k].append(v)
    rows = []
    for node in graph.nodes:
        if node.name not in acc or node.op_type not in ("NchwcConv", "Conv", "Gemm"):
            continue
        w = graph.initializers.get(node.inputs[1])
        kind = node.op_type
        if node.op_type == "NchwcConv" and w is not None:
            k = "x".join(map(str, w.shape[2:]))
            kind = "depthwise" if int(node.attrs.get("group", 1)) > 1 else f"conv {k}"
        shape = "x".join(map(str, w.shape)) if w is not None else "-"
        rows.append((kind, shape, statistics.median(acc[node.name]) * 1e3))  # seconds -> ms
    return rows


def _ort(onnx: str, feeds: dict, threads: int, runs: int) -> list[tuple[str, str, float]]:
    rows = []
    for args, ms in ort_node_profile(onnx, feeds, threads, runs).values():  # in execution order
        if args.get("op_name") not in ("Conv", "Gemm"):
            continue
        shape = "x".join(str(d) for d in next(iter(args["input_type_shape"][0].values())))
        rows.append((args["op_name"], shape, ms))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    spec = json.loads(Path(prepare(args.model, ["gossamer-cython", "onnxruntime"], 3, None)
                           .spec_path).read_text())  # fmt: skip
    feeds = dict(np.load(spec["feeds"]))
    load0 = open("/proc/loadavg").read().split()[0]
    ours = _ours(spec["gsm"], feeds, args.threads, args.runs)
    theirs = _ort(spec["onnx"], feeds, args.threads, args.runs)
    load1 = open("/proc/loadavg").read().split()[0]
    if len(ours) != len(theirs):
        sys.exit(f"{len(ours)} convs/Gemms here, {len(theirs)} in onnxruntime: not comparable")
    print(f"{args.model}, {args.threads} thread(s), load {load0} -> {load1}\n")
    print("| kind | weights | onnxruntime input | gossamer ms | onnxruntime ms | ratio |")
    print("|---|---|---|---:|---:|---:|")
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (kind, w, ms), (_, x, ort_ms) in zip(ours, theirs):
        sums[kind][0] += ms
        sums[kind][1] += ort_ms
        print(f"| {kind} | {w} | {x} | {ms:.3f} | {ort_ms:.3f} | {ms / ort_ms:.2f} |")
    print("\n| kind | gossamer ms | onnxruntime ms | ratio |\n|---|---:|---:|---:|")
    for kind, (a, b) in sums.items():
        print(f"| {kind} | {a:.2f} | {b:.2f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
