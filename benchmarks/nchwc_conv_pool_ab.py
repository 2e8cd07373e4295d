"""The fused blocked conv + max pool (gossamer::NchwcConvMaxPool) against the same model planned
without the fusion, in one process: two sessions of one model, whole runs interleaved run by
run (the load's swings hit both alike), per thread count: wall time and the process's CPU time
(which a busy machine's waits for a core do not inflate; at 2 threads it counts the pool's
spinning too).

    .venv/bin/python benchmarks/nchwc_conv_pool_ab.py --model squeezenet1_1 --threads 1,2 --runs 200
    .venv/bin/python benchmarks/nchwc_conv_pool_ab.py --model squeezenet1_1 --nodes --runs 60

--nodes: the fused nodes' Session.run(timings=...) medians against their conv's and pool's.

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402


def _sessions(onnx: str, threads: int) -> tuple:
    from gossamer.converter.optimizer import channel_blocking

    import gossamer

    fused = gossamer.load(onnx, backends=["cython"], threads=threads)
    keep = channel_blocking._fuse_conv_max_pools
    channel_blocking._fuse_conv_max_pools = lambda view: None
    try:
        apart = gossamer.load(onnx, backends=["cython"], threads=threads)
    finally:
        channel_blocking._fuse_conv_max_pools = keep
    ops = [sum(n.op_type == "NchwcConvMaxPool" for n in s.graph.nodes) for s in (fused, apart)]
    return fused, apart, ops


def _nodes(fused, apart, feeds: dict, threads: int, runs: int) -> None:
    """Each fused node's median against its conv's + pool's (runs interleaved)."""
    pairs = {}
    for pool in (n for n in apart.graph.nodes if n.op_type == "NchwcMaxPool"):
        conv = next(n for n in apart.graph.nodes if pool.inputs[0] in n.outputs)
        pairs[f"{conv.name}_{pool.name}"] = (conv.name, pool.name)
    names = [n.name for n in fused.graph.nodes if n.name in pairs]
    got: dict[str, list[float]] = {k: [] for k in names + [p for k in names for p in pairs[k]]}
    load0 = open("/proc/loadavg").read().split()[0]
    for _ in range(runs):
        for sess in (fused, apart):
            t: dict[str, float] = {}
            sess.run(None, feeds, timings=t)
            for k in got:
                if k in t:
                    got[k].append(t[k] * 1e6)
    med = {k: statistics.median(v) for k, v in got.items()}
    for k in names:
        c, p = pairs[k]
        print(
            f"| {threads} | {k} | {med[k]:.0f} | {med[c]:.0f} + {med[p]:.0f} | "
            f"{med[k] / (med[c] + med[p]):.2f} | {load0} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="squeezenet1_1")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--nodes", action="store_true", help="per fused node, not whole runs")
    args = ap.parse_args()
    spec = json.loads(Path(prepare(args.model, ["gossamer-cython"], 3, None).spec_path).read_text())
    feeds = dict(np.load(spec["feeds"]))
    print(
        "| threads | fused ms (median / min) | apart ms (median / min) | fused / apart "
        "(median / min) | CPU ms fused / apart (median) | CPU fused / apart | fused nodes "
        "| load |\n|---|---:|---:|---:|---:|---:|---|---|"
    )
    if args.nodes:
        print(
            "| threads | fused node | us | conv + pool us | ratio | load |\n"
            "|---|---|---:|---:|---:|---|"
        )
        for threads in [int(t) for t in args.threads.split(",")]:
            fused, apart, _ = _sessions(spec["onnx"], threads)
            _nodes(fused, apart, feeds, threads, args.runs)
        return
    for threads in [int(t) for t in args.threads.split(",")]:
        fused, apart, ops = _sessions(spec["onnx"], threads)
        a = fused.run(None, feeds)[0]
        b = apart.run(None, feeds)[0]
        assert np.array_equal(a, b), "the fused plan's output differs from the unfused one's"
        for _ in range(5):
            fused.run(None, feeds)
            apart.run(None, feeds)
        load0 = open("/proc/loadavg").read().split()[0]
        t: dict[str, list[float]] = {"fused": [], "apart": []}
        cpu: dict[str, list[float]] = {"fused": [], "apart": []}
        for r in range(args.runs):
            order = (
                (("fused", fused), ("apart", apart))
                if r % 2
                else (("apart", apart), ("fused", fused))
            )
            for name, sess in order:
                c0, t0 = time.process_time(), time.perf_counter()
                sess.run(None, feeds)
                t[name].append((time.perf_counter() - t0) * 1e3)
                cpu[name].append((time.process_time() - c0) * 1e3)
        load1 = open("/proc/loadavg").read().split()[0]
        med = {k: statistics.median(v) for k, v in t.items()}
        low = {k: min(v) for k, v in t.items()}
        mc = {k: statistics.median(v) for k, v in cpu.items()}
        print(
            f"| {threads} | {med['fused']:.3f} / {low['fused']:.3f} | {med['apart']:.3f} / "
            f"{low['apart']:.3f} | {med['fused'] / med['apart']:.3f} / "
            f"{low['fused'] / low['apart']:.3f} | {mc['fused']:.3f} / {mc['apart']:.3f} | "
            f"{mc['fused'] / mc['apart']:.3f} | {ops[0]} / {ops[1]} | {load0} -> {load1} |"
        )


if __name__ == "__main__":
    main()
