"""GFLOP/s of the cython fp32 GEMM at MiniLM's shapes (seq 128, hidden 384, FFN 1536), B packed.

Per shape: `ext().gemm_a` (A packed inside the call, as the MatMul node runs it), `gemm_ep` with A
packed beforehand (the product alone) and `pack_a` alone, each over a ring of distinct packed B's
(cold weights, as in the model where 42 MB stream through), interleaved over --turns rounds.
Wall time and the process's CPU time are both reported: on a shared VM a preempted run inflates
the wall time, the CPU time much less (at 2 threads the CPU time counts both threads: GFLOP/s per
CPU-second, about the per-core efficiency).

    .venv/bin/python benchmarks/gemm_minilm.py --threads 1,2 --turns 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.gemm_kernels import Activation, make_epilogue, pack_weights

F32 = np.float32
SHAPES = [  # (name, m, k, n, activation code)
    ("qkv 128x384x1152", 128, 384, 1152, 0),
    ("out 128x384x384", 128, 384, 384, 0),
    ("ffn1 128x384x1536 gelu", 128, 384, 1536, 6),
    ("ffn2 128x1536x384", 128, 1536, 384, 0),
]


def _timed(fn, fn_args: tuple, ring: list, reps: int) -> tuple[float, float]:
    """Wall and CPU seconds per call of fn(*fn_args), a None argument replaced by the ring's next
    packed B."""
    hole = next((i for i, v in enumerate(fn_args) if v is None), -1)
    argv = list(fn_args)
    w0, c0 = time.perf_counter(), time.process_time()
    for r in range(reps):
        if hole >= 0:
            argv[hole] = ring[r % len(ring)]
        fn(*argv)
    return (time.perf_counter() - w0) / reps, (time.process_time() - c0) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    cases = []
    for name, m, k, n, act in SHAPES:
        a = rng.standard_normal((m, k)).astype(F32)
        packed_a = np.empty(ext().packed_a_size(m, k), F32)
        ext().pack_a(a, packed_a, 1)
        ring = [pack_weights(rng.standard_normal((k, n)).astype(F32) / 20) for _ in range(8)]
        ep = make_epilogue(Activation(act=act), bias_col=rng.standard_normal(n).astype(F32))
        cases.append((name, m, k, n, a, packed_a, ring, ep, np.empty((m, n), F32)))
    for t in [int(x) for x in args.threads.split(",")]:
        wall: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.turns):
            for name, m, k, n, a, pa, ring, ep, c in cases:
                calls = {
                    "gemm_a": (ext().gemm_a, (a, None, n, c, ep, t)),
                    "packed A": (ext().gemm_ep, (m, n, k, pa, None, c, ep, t)),
                    "pack_a": (ext().pack_a, (a, pa, t)),
                }
                for what, (fn, fn_args) in calls.items():
                    w, c_ = _timed(fn, fn_args, ring, args.reps)
                    wall.setdefault((name, what), []).append(w)
                    cpu.setdefault((name, what), []).append(c_)
        print(f"threads {t}, load {os.getloadavg()[0]:.2f}: median (min) us; GFLOP/s of the median")
        for name, m, k, n, *_ in cases:
            fl = 2.0 * m * k * n
            for what in ("gemm_a", "packed A", "pack_a"):
                w, c = wall[(name, what)], cpu[(name, what)]
                rate = "" if what == "pack_a" else (
                    f"  {fl / statistics.median(w) / 1e9:6.1f} wall, "
                    f"{fl / statistics.median(c) / 1e9:6.1f} per CPU-s")  # fmt: skip
                print(f"  {name:24s} {what:9s} wall {statistics.median(w) * 1e6:7.1f} "
                      f"({min(w) * 1e6:7.1f})  cpu {statistics.median(c) * 1e6:7.1f} "
                      f"({min(c) * 1e6:7.1f}){rate}")  # fmt: skip


if __name__ == "__main__":
    main()
