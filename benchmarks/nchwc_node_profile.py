"""Per-node times of a blocked model on the cython backend against onnxruntime's own profile
(SessionOptions.enable_profiling), conv and pool by conv and pool in graph order (both run them in
the model's order; onnxruntime's NchwcTransformer keeps one node per conv), with the per-kind sums.
A fused gossamer::NchwcConvMaxPool is set against onnxruntime's conv and the MaxPool after it.

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

# our node kinds and onnxruntime's op names that the profile pairs (a fused conv + pool: two)
OURS = {"NchwcConv": "Conv", "Conv": "Conv", "Gemm": "Gemm", "NchwcConvMaxPool": "",
        "NchwcMaxPool": "MaxPool", "NchwcGlobalAveragePool": "GlobalAveragePool"}  # fmt: skip
THEIRS = ("Conv", "Gemm", "MaxPool", "GlobalAveragePool")


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
        if node.name not in acc or node.op_type not in OURS:
            continue
        w = graph.initializers.get(node.inputs[1]) if len(node.inputs) > 1 else None
        kind = OURS[node.op_type]
        if node.op_type == "NchwcConvMaxPool" and w is not None:
            kind = "conv + max pool"
        elif node.op_type == "NchwcConv" and w is not None:
            k = "x".join(map(str, w.shape[2:]))
            kind = "depthwise" if int(node.attrs.get("group", 1)) > 1 else f"conv {k}"
        shape = "x".join(map(str, w.shape)) if w is not None else "-"
        rows.append((kind, shape, statistics.median(acc[node.name]) * 1e3))  # seconds -> ms
    return rows


def _ort(onnx: str, feeds: dict, threads: int, runs: int) -> list[tuple[str, str, float]]:
    rows = []
    for args, ms in ort_node_profile(onnx, feeds, threads, runs).values():  # in execution order
        if args.get("op_name") not in THEIRS:
            continue
        shapes = [next(iter(s.values())) for s in args["input_type_shape"]]
        kind = args["op_name"]
        if kind == "Conv":  # its own kind: it runs a fire module's expands in the other order
            w = shapes[1]
            k = f"{w[2]}x{w[3]}"
            kind = "depthwise" if w[1] == 1 and k != "1x1" else f"conv {k}"
        rows.append((kind, "x".join(map(str, shapes[0])), ms))
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
    paired = []  # onnxruntime's rows, a conv and its MaxPool as one where ours fused them
    for kind, _, _ in ours:
        if not theirs:
            break
        op, x, ms = theirs.pop(0)
        if kind == "conv + max pool" and theirs and theirs[0][0] == "MaxPool":
            op, ms = kind, ms + theirs.pop(0)[2]
        paired.append((op, x, ms))
    if len(ours) != len(paired) or theirs:
        found = len(paired) + len(theirs)
        sys.exit(f"{len(ours)} nodes here, {found} in onnxruntime: not comparable")
    for i in range(len(ours) - 1):  # two nodes of one fire module run in the other order
        if ours[i][0] != paired[i][0] and (ours[i][0], ours[i + 1][0]) == (
            paired[i + 1][0],
            paired[i][0],
        ):
            paired[i], paired[i + 1] = paired[i + 1], paired[i]
    theirs = paired
    print(f"{args.model}, {args.threads} thread(s), load {load0} -> {load1}\n")
    print("| kind | weights | onnxruntime input | gossamer ms | onnxruntime ms | ratio |")
    print("|---|---|---|---:|---:|---:|")
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (kind, w, ms), (their_kind, x, ort_ms) in zip(ours, theirs):
        sums[kind][0] += ms
        sums[their_kind][1] += ort_ms
        print(f"| {kind} | {w} | {x} | {ms:.3f} | {ort_ms:.3f} | {ms / ort_ms:.2f} |")
    print("\n| kind | gossamer ms | onnxruntime ms | ratio |\n|---|---:|---:|---:|")
    for kind, (a, b) in sums.items():
        print(f"| {kind} | {a:.2f} | {b:.2f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
