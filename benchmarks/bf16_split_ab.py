"""A chain's conv writing the next conv's phase split itself (gk_bf16_pix_conv_split) against
writing its form and splitting it (gk_bf16_pix_phases), in one process: the convs alone on the
shapes of ResNet-18's stage outputs (3x3, bias, residual, Relu; the split for stride 2), then
ResNet-18 bf16 whole, loaded with and without the split (GOSSAMER_BF16_PIX_SPLIT), the runs
alternated, the outputs checked bit for bit.

    .venv/bin/python benchmarks/bf16_split_ab.py [--threads 1,2] [--reps 100] [--rounds 10]
        [--runs 30] [--no-model]

Medians / mins in us (convs) and ms (model); the load is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from bf16_speed import feeds_of, spec_of
from gossamer.cython_kernels._common import aligned_empty
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.bf16_pix_chain import pix_weights

F32 = np.float32
U32 = np.uint32


def form(c: int, h: int, w: int) -> tuple[int, ...]:
    return (c, h, w, 1, 1, h + 2, w + 2)  # the chain's (bf16_pix_chain.form)


def convs(threads: int, reps: int) -> None:
    rng = np.random.default_rng(0)
    for c, hw in ((64, 56), (128, 28), (256, 14)):
        f = form(c, hw, hw)
        x = aligned_empty(ext().bf16_pix_size(f), U32)
        z = aligned_empty(ext().bf16_pix_size(f), U32)
        ext().bf16_pix_from_nchw(rng.standard_normal((c, hw, hw)).astype(F32), f, x, 1)
        ext().bf16_pix_from_nchw(rng.standard_normal((c, hw, hw)).astype(F32), f, z, 1)
        w = pix_weights((rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)).astype(F32))
        bias = rng.standard_normal(c).astype(F32)
        y = aligned_empty(ext().bf16_pix_size(f), U32)
        a = aligned_empty(ext().bf16_pix_phases_size(f, 2), U32)
        b = aligned_empty(ext().bf16_pix_phases_size(f, 2), U32)
        args = (x, f, 1, 3, 3, 1, 1, hw, hw, c, w, bias, z, f, 0.0, np.inf)
        times: dict[str, list[float]] = {"form + split": [], "split written": []}
        for _ in range(reps):
            t0 = time.perf_counter()
            assert ext().bf16_pix_conv(*args, y, f, None, threads)
            ext().bf16_pix_phases(y, f, 2, a, threads)
            t1 = time.perf_counter()
            assert ext().bf16_pix_conv(*args, b, f, None, threads, 2)
            t2 = time.perf_counter()
            times["form + split"].append((t1 - t0) * 1e6)
            times["split written"].append((t2 - t1) * 1e6)
        assert np.array_equal(a, b)
        line = ", ".join(f"{k} {statistics.median(v):.0f} / {min(v):.0f}" for k, v in times.items())
        print(f"conv {c} x {hw}^2 t={threads} (median / min us): {line}", flush=True)


def model(threads: int, rounds: int, runs: int) -> None:
    import gossamer

    spec = spec_of("resnet18")
    feeds = feeds_of(spec)
    sessions = {}
    for name, env in (("split written", "1"), ("form + split", "0")):
        os.environ["GOSSAMER_BF16_PIX_SPLIT"] = env
        sessions[name] = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads,
                                       precision="bf16")  # fmt: skip
    os.environ.pop("GOSSAMER_BF16_PIX_SPLIT")
    outs = [s.run(None, feeds)[0] for s in sessions.values()]
    assert np.array_equal(outs[0], outs[1]), "the two sessions differ"
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for r in range(rounds):
        order = list(sessions) if r % 2 == 0 else list(reversed(sessions))
        for k in order:
            for _ in range(runs):
                t0 = time.perf_counter()
                sessions[k].run(None, feeds)
                times[k].append((time.perf_counter() - t0) * 1e3)
    line = ", ".join(f"{k} {statistics.median(v):.2f} / {min(v):.2f}" for k, v in times.items())
    ratio = statistics.median(times["split written"]) / statistics.median(times["form + split"])
    print(f"resnet18 bf16 t={threads} (median / min ms): {line}; ratio {ratio:.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-model", action="store_true")
    args = ap.parse_args()
    ext().bf16_set_impl("native")
    if not ext().bf16_amx():
        raise SystemExit("the AMX tiles are not in use here")
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
    for t in (int(v) for v in args.threads.split(",")):
        convs(t, args.reps)
        if not args.no_model:
            model(t, args.rounds, args.runs)
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
