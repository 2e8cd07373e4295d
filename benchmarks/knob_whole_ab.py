"""Whole runs only, one gossamer session, two or more run-time switches of the cython backend
applied in alternate blocks of runs (the order reversed every other turn, so every variant sees the
same machine load and neither always runs first): each variant's minimum, 10th percentile and
median. No observer runs between them (conv_knob_ab.py times the layers too, through one).

    .venv/bin/python benchmarks/knob_whole_ab.py --model mobilenet_v2 --threads 2 --turns 100 \\
        --variant "off=ext().nchwc_channel_parts(0)" --variant "on=ext().nchwc_channel_parts(1)"

Each variant is `name=python statement` run before its block, with `ext` in scope; the first
variant's statement runs again at the end. Models come from the benchmark cache (bench_models.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--block", type=int, default=5, help="runs per variant per turn")
    ap.add_argument("--variant", action="append", required=True, help="name=statement")
    args = ap.parse_args()

    from bf16_speed import feeds_of, spec_of
    from gossamer.cython_kernels._native import ext

    import gossamer

    variants = [tuple(v.split("=", 1)) for v in args.variant]
    spec = spec_of(args.model)
    feeds = feeds_of(spec)
    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads)
    for _ in range(5):
        sess.run(None, feeds)
    times: dict[str, list[float]] = {n: [] for n, _ in variants}
    for turn in range(args.turns):
        for name, stmt in variants if turn % 2 == 0 else variants[::-1]:
            exec(stmt, {"ext": ext})
            for _ in range(args.block):
                t0 = time.perf_counter()
                sess.run(None, feeds)
                times[name].append((time.perf_counter() - t0) * 1e3)
    exec(variants[0][1], {"ext": ext})
    print(f"{args.model}, {args.threads} thread(s), {args.turns} x {args.block} runs each, load "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    first = sorted(times[variants[0][0]])
    for name, _ in variants:
        x = sorted(times[name])
        p10, med = x[len(x) // 10], statistics.median(x)
        print(
            f"{name}: min {x[0]:.3f} ms, p10 {p10:.3f}, median {med:.3f}; / {variants[0][0]}: "
            f"p10 {p10 / first[len(first) // 10]:.3f}, median {med / statistics.median(first):.3f}"
        )


if __name__ == "__main__":
    main()
