"""One optimiser pass on and off, in one process: a model optimised at -O3 with every pass
against the same model optimised without the named pass, run by the cython backend in
alternating turns (the load average before and after). Prints the median and minimum per thread
count and checks that both give the same output bits (the pass claims bit-identical results).

    .venv/bin/python benchmarks/fusion_pass_ab.py --model minilm --skip matmul_residual_fusion

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import BUILTIN, _builtin  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--skip", default="matmul_residual_fusion")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()

    import gossamer
    from gossamer.converter.onnx_import import graph_from_onnx
    from gossamer.converter.optimizer import optimize
    from gossamer.converter.optimizer.pipeline import PIPELINE

    graph = graph_from_onnx(_builtin(args.model)())
    feeds = BUILTIN[args.model]()
    with_pass, _ = optimize(graph, 3)
    without, _ = optimize(graph, passes=[p.name for p in PIPELINE if p.name != args.skip])
    print(f"| threads | stat | with {args.skip} (ms) | without (ms) | with / without | load |")
    print("|---|---|---:|---:|---:|---|")
    for threads in (int(t) for t in args.threads.split(",")):
        sessions = {
            k: gossamer.load(g, backends=["cython"], threads=threads, optimize=0)
            for k, g in (("with", with_pass), ("without", without))
        }
        outs = {k: s.run(None, feeds) for k, s in sessions.items()}
        same = all(
            np.array_equal(np.asarray(a).view(np.uint8), np.asarray(b).view(np.uint8))
            for a, b in zip(outs["with"], outs["without"], strict=True)
        )
        times: dict[str, list[float]] = {k: [] for k in sessions}
        load0 = open("/proc/loadavg").read().split()[0]
        for turn in range(args.turns):
            for k in sorted(sessions, reverse=turn % 2 == 1):
                sessions[k].run(None, feeds)
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    sessions[k].run(None, feeds)
                    times[k].append((time.perf_counter() - t0) * 1e3)
        load1 = open("/proc/loadavg").read().split()[0]
        for stat in (statistics.median, min):
            w, wo = stat(times["with"]), stat(times["without"])
            print(f"| {threads} | {stat.__name__} | {w:.2f} | {wo:.2f} | {w / wo:.3f} | "
                  f"{load0} -> {load1} |")  # fmt: skip
        print(f"(threads {threads}: same output bits: {same})")


if __name__ == "__main__":
    main()
