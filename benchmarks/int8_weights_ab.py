"""Weights of int8 codes times a column scale run from their codes (cython_kernels/int8_weights.py)
or packed as float32, in one process: two sessions of the same -O3 .gsm, one loaded and first run
with GOSSAMER_INT8_WEIGHTS=0, runs alternated (the order swapped every turn), each run after
`--settle-ms` of sleep (0: back to back; ab_trees and side_by_side pause 50 ms before an engine's
runs, after which a memory-bound model runs slower for ~30-40 ms, see
results/fp32_minilm_2t.md). Checks that both give the same bits, prints both medians and minima
and their ratio.

    .venv/bin/python benchmarks/int8_weights_ab.py --model minilm_l6_int8 --threads 2 --runs 200

Models come from the side-by-side cache (benchmarks/bench_models.py prepares them). Results:
benchmarks/results/fp32_minilm_2t.md (Session 27, i8w)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402
from gossamer.cython_kernels import int8_weights  # noqa: E402

import gossamer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--settle-ms", type=float, default=0.0)
    args = ap.parse_args()
    spec = prepare(args.model, ["gossamer-cython"], 3, None).spec
    feeds = dict(np.load(spec["feeds"]))
    os.environ[int8_weights.ENV] = "0"
    floats = gossamer.load(spec["gsm"], threads=args.threads)
    want = floats.run(None, feeds)
    del os.environ[int8_weights.ENV]
    codes = gossamer.load(spec["gsm"], threads=args.threads)
    got = codes.run(None, feeds)
    same = all(np.array_equal(a, b) for a, b in zip(got, want))
    times: dict[str, list[float]] = {"floats": [], "codes": []}
    pair = [("floats", floats), ("codes", codes)]
    for turn in range(args.runs + 5):
        for name, session in pair if turn % 2 else pair[::-1]:
            if args.settle_ms:
                time.sleep(args.settle_ms / 1e3)
            t0 = time.perf_counter()
            session.run(None, feeds)
            if turn >= 5:
                times[name].append((time.perf_counter() - t0) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    print(f"{args.model}, {args.threads} thread(s), settle {args.settle_ms:g} ms, same bits: "
          f"{same} | float32 weights median {med['floats']:.3f} min {low['floats']:.3f} ms | "
          f"int8 codes median {med['codes']:.3f} min {low['codes']:.3f} ms | codes / floats "
          f"{med['codes'] / med['floats']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
