"""MiniLM's non-GEMM parts and the thread split of its products, per call, on this tree's build:
the attention block (ext().attention, 12 heads of 32, seq 128), LayerNorm rows (128 x 384),
Softmax rows (1536 x 128), the 128 x 384 x 1536 product with and without the Gelu epilogue, and
the 128 x 1152 x 384 (QKV) product at 2 threads. Median and minimum over --turns rounds of
--reps calls, in process CPU time (at 1 thread: the work; at 2: both threads' CPU, spinning
included) and wall time. Run it with two trees' venvs to compare them (the load is printed).

    .venv/bin/python benchmarks/gemm_minilm_parts.py --turns 15

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.gemm_kernels import Activation, make_epilogue, pack_weights

F32 = np.float32


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=15)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    qkv = rng.standard_normal((1, 128, 1152)).astype(F32)
    mask = np.zeros((1, 128), F32)
    y_att = np.empty((1, 128, 384), F32)
    x_ln = (rng.standard_normal((128, 384)) * 2 + 1).astype(F32)
    g, b = rng.standard_normal(384).astype(F32), rng.standard_normal(384).astype(F32)
    y_ln, mean, inv = np.empty_like(x_ln), np.empty(128, F32), np.empty(128, F32)
    x_sm = (rng.standard_normal((1536, 128)) * 3).astype(F32)
    y_sm = np.empty_like(x_sm)
    a1 = rng.standard_normal((128, 384)).astype(F32)
    w1 = pack_weights(rng.standard_normal((384, 1536)).astype(F32) / 20)
    c1 = np.empty((128, 1536), F32)
    w_qkv = pack_weights(rng.standard_normal((384, 1152)).astype(F32) / 20)
    c_qkv = np.empty((128, 1152), F32)
    bias1 = rng.standard_normal(1536).astype(F32)
    none = make_epilogue(Activation(act=0), bias_col=bias1)
    gelu = make_epilogue(Activation(act=6), bias_col=bias1)
    plain = make_epilogue(Activation(act=0))
    calls = {
        "attention 1t": lambda: ext().attention(qkv, mask, y_att, 12, 0.17677669, 1),
        "attention 2t": lambda: ext().attention(qkv, mask, y_att, 12, 0.17677669, 2),
        "layernorm 128x384": lambda: ext().layernorm_rows(
            x_ln, g, b, y_ln, mean, inv, F32(1e-12), 1
        ),
        "softmax 1536x128": lambda: ext().softmax_rows(x_sm, y_sm, 1),
        "ffn1 1t no act": lambda: ext().gemm_a(a1, w1, 1536, c1, none, 1),
        "ffn1 1t gelu": lambda: ext().gemm_a(a1, w1, 1536, c1, gelu, 1),
        "qkv 2t": lambda: ext().gemm_a(a1, w_qkv, 1152, c_qkv, plain, 2),
    }
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    wall: dict[str, list[float]] = {k: [] for k in calls}
    print(f"load before {os.getloadavg()[0]:.2f}")
    for _ in range(args.turns):
        for name, fn in calls.items():
            fn()
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.reps):
                fn()
            wall[name].append((time.perf_counter() - w0) / args.reps * 1e6)
            cpu[name].append((time.process_time() - c0) / args.reps * 1e6)
    print(f"load after {os.getloadavg()[0]:.2f}; us per call: cpu median (min), wall median (min)")
    for name in calls:
        c, w = cpu[name], wall[name]
        print(
            f"  {name:20s} cpu {statistics.median(c):8.1f} ({min(c):8.1f})  "
            f"wall {statistics.median(w):8.1f} ({min(w):8.1f})"
        )


if __name__ == "__main__":
    main()
