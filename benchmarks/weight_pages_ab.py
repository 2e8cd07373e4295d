"""Whole runs of one model in two sessions of one process, one loaded with its packed GEMM weights
in 2 MiB pages (cython_kernels/weight_pages.py) and one with `weight_pages.ENABLED = False` (4 KiB
pages), alternated run by run, the order flipped each round: minimum and median per session and
the median of the per-round ratios. The session loaded last can run faster (conv_knob_ab.py's
caveat): run both --order values.

    .venv/bin/python benchmarks/weight_pages_ab.py --model minilm --threads 2 --rounds 200 \\
        --order 4k,2m [--precision bf16]

Not a test: nothing is asserted."""

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
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--order", default="4k,2m", help="the sessions' load order: 4k,2m or 2m,4k")
    ap.add_argument("--precision", default="", help="bf16: both sessions precision='bf16'")
    args = ap.parse_args()

    from bf16_speed import feeds_of, spec_of
    from gossamer.cython_kernels import weight_pages

    import gossamer

    spec = spec_of(args.model)
    feeds = feeds_of(spec)

    def load(huge: bool):  # type: ignore[no-untyped-def]
        weight_pages.ENABLED = huge
        try:
            kw = {"precision": args.precision} if args.precision else {}
            sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads, **kw)
        finally:
            weight_pages.ENABLED = True
        for _ in range(5):
            sess.run(None, feeds)
        return sess

    names = args.order.split(",")
    sessions = {name: load(name == "2m") for name in names}
    with open("/proc/self/smaps_rollup") as f:  # (Linux: the 2 MiB pages in use)
        huge_kb = " ".join(line.split()[1] for line in f if line.startswith("AnonHugePages"))
    print(f"{args.model} {args.precision or 'fp32'}, {args.threads} thread(s), "
          f"AnonHugePages {huge_kb} kB, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            sessions[name].run(None, feeds)
            times[name].append((time.perf_counter() - t0) * 1e3)
    for name in names:
        v = times[name]
        print(f"{name}: min {min(v):.2f} ms, median {statistics.median(v):.2f}")
    ratio = statistics.median(a / b for a, b in zip(times["2m"], times["4k"], strict=True))
    print(f"2m / 4k per round, median: {ratio:.3f}; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
