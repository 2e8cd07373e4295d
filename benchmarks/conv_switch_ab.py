"""Per-conv times of one benchmark model on the cython backend under run-time path switches, in
one process, the configurations interleaved run by run (each its own session, so each keeps the
weights its paths packed): which conv path pays for which layer.

    .venv/bin/python benchmarks/conv_switch_ab.py --model squeezenet1_1 --threads 1 \
        --config winograd=auto --config winograd=never

Switches: winograd (conv_kernels.WINOGRAD: auto, never, always, f4, f2), direct_b
(ext().direct_b_on). Times come from Session.run(timings=...)
(median per node; each includes the node's Python dispatch, the same in every configuration);
the whole-run medians (segments, no timings) are printed too. Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402


def _apply(config: dict[str, str]) -> None:
    from gossamer.cython_kernels import conv_kernels
    from gossamer.cython_kernels._native import ext

    for key, value in config.items():
        if key == "winograd":
            conv_kernels.WINOGRAD = value
        elif key == "direct_b":
            ext().direct_b_on(int(value))
        else:
            raise SystemExit(f"unknown switch {key}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="squeezenet1_1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--config", action="append", required=True,
                    help="comma-separated switch=value pairs; give two or more")  # fmt: skip
    args = ap.parse_args()
    import gossamer

    spec = json.loads(Path(prepare(args.model, ["gossamer-cython"], 3, None).spec_path).read_text())
    feeds = dict(np.load(spec["feeds"]))
    configs = [dict(kv.split("=", 1) for kv in c.split(",")) for c in args.config]
    load0 = os.getloadavg()[0]
    sessions = []
    for config in configs:
        _apply(config)
        sess = gossamer.load(spec["gsm"], backends=["cython"], threads=args.threads)
        for _ in range(5):
            sess.run(None, feeds)
        sessions.append(sess)
    nodes: list[dict[str, list[float]]] = [defaultdict(list) for _ in configs]
    whole: list[list[float]] = [[] for _ in configs]
    for _ in range(args.runs):
        for i, (config, sess) in enumerate(zip(configs, sessions)):
            _apply(config)
            t0 = time.perf_counter()
            sess.run(None, feeds)
            whole[i].append(time.perf_counter() - t0)
            t: dict[str, float] = {}
            sess.run(None, feeds, timings=t)
            for k, v in t.items():
                nodes[i][k].append(v)
    graph = sessions[0].graph
    print(f"{args.model}, {args.threads} thread(s), {args.runs} runs, load {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}\n")  # fmt: skip
    head = " | ".join(args.config)
    print(f"| node | weights | {head} |\n|---|---|" + "---:|" * len(configs))
    for node in graph.nodes:
        if "Conv" not in node.op_type or node.name not in nodes[0]:
            continue
        w = graph.initializers.get(node.inputs[1])
        shape = "x".join(map(str, w.shape)) if w is not None else "-"
        ms = [statistics.median(n[node.name]) * 1e3 for n in nodes]
        print(f"| {node.name} | {shape} | " + " | ".join(f"{v:.3f}" for v in ms) + " |")
    print("| whole run (segments) | | "
          + " | ".join(f"{statistics.median(w) * 1e3:.3f}" for w in whole) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
