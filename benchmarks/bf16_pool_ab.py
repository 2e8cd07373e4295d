"""The MaxPool into the pixel blocks (gk_bf16_pix_maxpool_from_nchw) against the float32 pool
and the chain's reorder in, in one process: the kernels alone on ResNet's pool shape, then
ResNet-18 bf16 whole, loaded with and without the pool in its chain (GOSSAMER_BF16_PIX_POOL),
the runs alternated, the outputs checked bit for bit.

    .venv/bin/python benchmarks/bf16_pool_ab.py [--threads 1,2] [--reps 200] [--rounds 6]
        [--runs 20]

Medians / mins in us (kernels) and ms (model); the load is printed before and after.
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

F32 = np.float32


def form(c: int, h: int, w: int) -> tuple[int, ...]:
    return (c, h, w, 1, 1, h + 2, w + 2)  # the chain's (bf16_pix_chain.form)


def kernels(threads: int, reps: int) -> None:
    """ResNet-18's pool: 64 x 112^2 -> 56^2, 3x3 stride 2 pads 1, on a Relu'd stem output."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((64, 112, 112)), 0).astype(F32)
    f = form(64, 56, 56)
    y = np.empty((64, 56, 56), F32)
    a = aligned_empty(ext().bf16_pix_size(f), np.uint32)
    b = aligned_empty(ext().bf16_pix_size(f), np.uint32)
    times: dict[str, list[float]] = {"f32 pool": [], "reorder in": [], "pool into blocks": []}
    for _ in range(reps):
        t0 = time.perf_counter()
        ext().pool2d(True, x, 3, 3, 2, 2, 1, 1, 1, 1, None, None, y, threads)
        t1 = time.perf_counter()
        ext().bf16_pix_from_nchw(y, f, a, threads)
        t2 = time.perf_counter()
        ext().bf16_pix_maxpool_from_nchw(x, 3, 3, 2, 1, 1, f, b, threads)
        t3 = time.perf_counter()
        for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            times[k].append(v * 1e6)
    assert np.array_equal(a, b)
    line = ", ".join(f"{k} {statistics.median(v):.0f} / {min(v):.0f}" for k, v in times.items())
    print(f"kernels t={threads} (median / min us): {line}", flush=True)


def model(threads: int, rounds: int, runs: int) -> None:
    import gossamer

    spec = spec_of("resnet18")
    feeds = feeds_of(spec)
    sessions = {}
    for name, env in (("pool in chain", "1"), ("pool float32", "0")):
        os.environ["GOSSAMER_BF16_PIX_POOL"] = env
        sessions[name] = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads,
                                       precision="bf16")  # fmt: skip
    os.environ.pop("GOSSAMER_BF16_PIX_POOL")
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
    ratio = statistics.median(times["pool in chain"]) / statistics.median(times["pool float32"])
    print(f"resnet18 bf16 t={threads} (median / min ms): {line}; ratio {ratio:.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-model", action="store_true")
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
    for t in (int(v) for v in args.threads.split(",")):
        kernels(t, args.reps)
        if not args.no_model:
            model(t, args.rounds, args.runs)
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
