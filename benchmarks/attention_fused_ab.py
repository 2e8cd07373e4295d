"""The fused attention head (src/attention_kernels.inc) against the packed GEMM path, switched in
one process by ext().attention_tune_fused: the attention alone (ext().attention at MiniLM's
shape: 12 heads of 32, 128 tokens, a mask row) and whole MiniLM runs in ONE session (the knob
read at every call, so node-by-node, recorded and replayed runs all follow it). Variants
alternate (the order flipping each round), so a machine whose speed swings affects both alike;
minima and medians, whether the outputs are the same bits, the load before and after.

    .venv/bin/python benchmarks/attention_fused_ab.py --threads 2,1 --rounds 30 --runs 100

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from gossamer.cython_kernels._native import ext

import gossamer

MODEL = os.path.expanduser("~/.cache/gossamer/bench/minilm-1460f57b4e1d/")
VARIANTS = {"fused": 1, "gemm": 0}


def _report(label: str, times: dict[str, list[float]], unit: str) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    parts = ", ".join(f"{k} min {low[k]:.1f} median {med[k]:.1f}" for k in times)
    print(f"{label}: {parts} {unit}; fused / gemm min {low['fused'] / low['gemm']:.3f} "
          f"median {med['fused'] / med['gemm']:.3f}")  # fmt: skip


def alone(threads: int, rounds: int, calls: int) -> None:
    rng = np.random.default_rng(0)
    qkv = rng.standard_normal((1, 128, 3 * 384)).astype(np.float32)
    mask = np.where(rng.random((1, 128)) < 0.1, -10000.0, 0.0).astype(np.float32)
    y = np.empty((1, 128, 384), np.float32)
    out, times = {}, {k: [] for k in VARIANTS}
    for i in range(rounds):
        for key in list(VARIANTS)[:: 1 if i % 2 else -1]:
            ext().attention_tune_fused(VARIANTS[key])
            ext().attention(qkv, mask, y, 12, 0.17677669, threads)  # warm
            for _ in range(calls):
                t0 = time.perf_counter()
                ext().attention(qkv, mask, y, 12, 0.17677669, threads)
                times[key].append((time.perf_counter() - t0) * 1e6)
            out[key] = y.copy()
    same = np.array_equal(out["fused"].view(np.int32), out["gemm"].view(np.int32))
    _report(f"attention alone, {threads} thread(s), same bits {same}", times, "us")


def model(threads: int, runs: int, folder: str) -> None:
    feeds = dict(np.load(os.path.join(folder, "feeds.npz")))
    sess = gossamer.load(os.path.join(folder, "O3.gsm"), backends=["cython"], threads=threads)
    out, times = {}, {k: [] for k in VARIANTS}
    for key, on in VARIANTS.items():
        ext().attention_tune_fused(on)
        for _ in range(3):  # node by node, recorded, replayed
            out[key] = sess.run(None, feeds)[0]
    for i in range(runs):
        for key in list(VARIANTS)[:: 1 if i % 2 else -1]:
            ext().attention_tune_fused(VARIANTS[key])
            t0 = time.perf_counter()
            sess.run(None, feeds)
            times[key].append((time.perf_counter() - t0) * 1e3)
    same = np.array_equal(out["fused"], out["gemm"])
    _report(f"MiniLM, {threads} thread(s), same bits {same}", times, "ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--rounds", type=int, default=30, help="alternations of the attention alone")
    ap.add_argument("--calls", type=int, default=10, help="timed calls per variant and round")
    ap.add_argument("--runs", type=int, default=100, help="whole runs per variant (0: none)")
    ap.add_argument("--model", default=MODEL, help="folder with O3.gsm and feeds.npz")
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()}")
    before = ext().attention_tune_fused(-1)
    try:
        for n in (int(t) for t in args.threads.split(",")):
            alone(n, args.rounds, args.calls)
            if args.runs:
                model(n, args.runs, args.model)
    finally:
        ext().attention_tune_fused(before)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
