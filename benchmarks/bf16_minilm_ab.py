"""MiniLM precision="bf16" A/B in one process, a run-time knob switched inside ONE session (no
second session: the one loaded last is not favoured): first the FFN-up product alone (128 x 1536
x 384, bias + Gelu, as the FusedMatMul node calls `bf16_gemm_a`) with the knob on and off,
alternated call by call, and with bias only; then MiniLM bf16 whole, the knob switched per round,
the outputs compared bit for bit.

    .venv/bin/python benchmarks/bf16_minilm_ab.py [--threads 1,2] [--reps 200] [--rounds 16]
        [--runs 20] [--knob gelu] [--no-parts] [--no-model]

--knob gelu: the AMX tiles' Gelu in registers (ext().bf16_gemm_set_gelu_tile) against the float32
epilogue's pass over each stored tile.

Medians / mins in us (parts) and ms (model), the median of the per-round ratios on / off; the
load is printed before and after. Not a test: nothing is asserted but the bits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from bf16_speed import feeds_of, spec_of
from gossamer.cython_kernels import bf16_matmul
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.bf16_mode import select_bf16_impl

F32 = np.float32
GELU = 6  # GK_ACT_GELU

KNOBS: dict[str, Callable[[bool], bool]] = {"gelu": ext().bf16_gemm_set_gelu_tile}


def parts(knob: str, threads: int, reps: int) -> None:
    rng = np.random.default_rng(0)
    m, n, k = 128, 1536, 384
    a = rng.standard_normal((m, k)).astype(F32)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(F32)
    bias = rng.standard_normal(n).astype(F32)
    bp = bf16_matmul.pack_b(w, weights=True)
    y = np.empty((m, n), F32)
    set_knob = KNOBS[knob]
    eps = {
        "bias": ext().Epilogue(bias_col=bias),
        "bias + gelu": ext().Epilogue(bias_col=bias, act=GELU),
    }
    times: dict[tuple[str, bool], list[float]] = {(e, on): [] for e in eps for on in (True, False)}
    outs: dict[bool, np.ndarray] = {}
    before = set_knob(True)
    try:
        for r in range(reps):
            for on in (True, False) if r % 2 == 0 else (False, True):
                set_knob(on)
                for name, ep in eps.items():
                    t0 = time.perf_counter()
                    ext().bf16_gemm_a(a, bp, n, y, ep, threads)
                    times[(name, on)].append((time.perf_counter() - t0) * 1e6)
                outs[on] = y.copy()
    finally:
        set_knob(before)
    assert np.array_equal(outs[True].view(np.uint32), outs[False].view(np.uint32)), "bits differ"
    line = ", ".join(
        f"{name} {'on' if on else 'off'} {statistics.median(v):.0f} / {min(v):.0f}"
        for (name, on), v in times.items()
    )
    print(f"ffn-up {m}x{n}x{k} t={threads} (median / min us): {line}", flush=True)


def model(knob: str, threads: int, rounds: int, runs: int) -> None:
    import gossamer

    spec = spec_of("minilm")
    feeds = feeds_of(spec)
    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads, precision="bf16")
    if sess.precision != "bf16":
        raise RuntimeError(f"bf16 not given: {sess.precision_note}")
    set_knob = KNOBS[knob]
    before = set_knob(True)
    times: dict[bool, list[float]] = {True: [], False: []}
    ratios, outs = [], {}
    try:
        for on in (True, False):
            set_knob(on)
            for _ in range(3):
                outs[on] = sess.run(None, feeds)[0].copy()
        for r in range(rounds):
            per = {}
            for on in (True, False) if r % 2 == 0 else (False, True):
                set_knob(on)
                t = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    t.append((time.perf_counter() - t0) * 1e3)
                times[on] += t
                per[on] = statistics.median(t)
            ratios.append(per[True] / per[False])
    finally:
        set_knob(before)
    same = np.array_equal(outs[True].view(np.uint32), outs[False].view(np.uint32))
    on, off = times[True], times[False]
    print(f"minilm bf16 t={threads} knob {knob} (median / min ms): on {statistics.median(on):.2f} "
          f"/ {min(on):.2f}, off {statistics.median(off):.2f} / {min(off):.2f}; per-round "
          f"on / off median {statistics.median(ratios):.3f}; outputs bit-equal: {same}",
          flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=16)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--knob", choices=sorted(KNOBS), default="gelu")
    ap.add_argument("--no-parts", action="store_true")
    ap.add_argument("--no-model", action="store_true")
    args = ap.parse_args()
    select_bf16_impl()  # the implementation a bf16 session selects (AMX where it is)
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
    for t in (int(x) for x in args.threads.split(",")):
        if not args.no_parts:
            parts(args.knob, t, args.reps)
        if not args.no_model:
            model(args.knob, t, args.rounds, args.runs)
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
