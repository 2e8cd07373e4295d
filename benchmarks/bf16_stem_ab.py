"""ResNet's stem and MaxPool on the pixel blocks (bf16_pix_chain.STEM_BLOCKS: the stem's
expansion written from the image, the kh x 1 block conv of it, the bf16 pool on the blocks)
against running them as before (the folded pair-plane stem to float32, the float32 pool, the
chain's reorder in), in one process with the knob switched: the three kernels alone on
ResNet-18's shapes (7x7 stride 2, 3 -> 64, 224^2, bias + Relu; 3x3 stride 2 pool), each part
timed, then ResNet-18 bf16 whole in ONE session, the knob switched per round (no second session:
the one loaded last is not favoured), the outputs checked bit for bit.

    .venv/bin/python benchmarks/bf16_stem_ab.py [--threads 1,2] [--reps 100] [--rounds 10]
        [--runs 30] [--no-model] [--knob STEM_BLOCKS|REPLAY] [--no-parts]

--knob REPLAY: the model's A/B is instead the chain replaying its plan (bf16_pix_chain.REPLAY)
against planning every run.

Medians / mins in us (parts) and ms (model); the load is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from bf16_speed import feeds_of, spec_of
from gossamer.cython_kernels import bf16_conv, bf16_pix_chain
from gossamer.cython_kernels._common import aligned_empty
from gossamer.cython_kernels._native import ext
from gossamer.plugins.run_context import using_threads
from gossamer.refimpl.ir import Node

F32 = np.float32
U32 = np.uint32


def parts(threads: int, reps: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 224, 224)).astype(F32)
    w = (rng.standard_normal((64, 3, 7, 7)) / np.sqrt(147)).astype(F32)
    b = rng.standard_normal(64).astype(F32)
    attrs = {"pads": [3, 3, 3, 3], "strides": [2, 2], "activation": "Relu"}
    node = Node("FusedConv", ["x", "w", "b"], ["y"], attrs, name="stem", domain="gossamer")
    fold = bf16_conv.prepare_fused_conv(node, {1: w, 2: b})
    pool_node = Node("MaxPool", ["y"], ["p"], {"kernel_shape": [3, 3], "strides": [2, 2],
                                               "pads": [1, 1, 1, 1]})  # fmt: skip
    pool = bf16_pix_chain._Pool(pool_node)
    stem = bf16_pix_chain._Stem(node, w, b)
    sf, pf = bf16_pix_chain.form(64, 112, 112), bf16_pix_chain.form(64, 56, 56)
    expand = aligned_empty(ext().bf16_pix_phases_size(
        ext().bf16_pix_expand_form(3, 224, 7, 7, 2, 3, 112, 112), 2), U32)  # fmt: skip
    sp, pp = (
        aligned_empty(ext().bf16_pix_size(sf), U32),
        aligned_empty(ext().bf16_pix_size(pf), U32),
    )
    inp = aligned_empty(ext().bf16_pix_size(pf), U32)
    names = ("fold stem", "f32 pool", "reorder in", "expansion + block stem", "block pool")
    times: dict[str, list[float]] = {k: [] for k in names}
    with using_threads(threads):
        for _ in range(reps):
            t = [time.perf_counter()]
            y = fold(x, w, b, None, None, **attrs)
            t.append(time.perf_counter())
            p = pool.run_f32(y)
            t.append(time.perf_counter())
            ext().bf16_pix_from_nchw(p[0], pf, inp, threads)
            t.append(time.perf_counter())
            assert stem.run(x, lambda k: expand[:k], sp.reshape(1, -1), sf)
            t.append(time.perf_counter())
            assert pool.run_pix(sp.reshape(1, -1), sf, pp.reshape(1, -1), pf)
            t.append(time.perf_counter())
            for k, name in enumerate(names):
                times[name].append((t[k + 1] - t[k]) * 1e6)
    assert np.array_equal(inp, pp), "the two paths' pool outputs differ"
    line = ", ".join(f"{k} {statistics.median(v):.0f} / {min(v):.0f}" for k, v in times.items())
    before = sum(statistics.median(times[k]) for k in names[:3])
    after = sum(statistics.median(times[k]) for k in names[3:])
    print(f"stem + pool t={threads} (median / min us): {line}; before {before:.0f}, "
          f"on the blocks {after:.0f}", flush=True)  # fmt: skip


def model(threads: int, rounds: int, runs: int, knob: str) -> None:
    import gossamer

    spec = spec_of("resnet18")
    feeds = feeds_of(spec)
    session = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads, precision="bf16")
    on = "replay" if knob == "REPLAY" else "blocks"
    times: dict[str, list[float]] = {on: [], "before": []}
    outs = {}
    for r in range(rounds):
        order = list(times) if r % 2 == 0 else list(reversed(times))
        for k in order:
            setattr(bf16_pix_chain, knob, k == on)
            outs[k] = session.run(None, feeds)[0].copy()
            for _ in range(runs):
                t0 = time.perf_counter()
                session.run(None, feeds)
                times[k].append((time.perf_counter() - t0) * 1e3)
    setattr(bf16_pix_chain, knob, True)
    assert np.array_equal(outs[on], outs["before"]), "the two paths differ"
    line = ", ".join(f"{k} {statistics.median(v):.2f} / {min(v):.2f}" for k, v in times.items())
    ratio = statistics.median(times[on]) / statistics.median(times["before"])
    print(f"resnet18 bf16 t={threads} {knob} (median / min ms): {line}; ratio {ratio:.3f}",
          flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--no-parts", action="store_true")
    ap.add_argument("--knob", default="STEM_BLOCKS", choices=("STEM_BLOCKS", "REPLAY"))
    args = ap.parse_args()
    ext().bf16_set_impl("native")
    if not ext().bf16_amx():
        raise SystemExit("the AMX tiles are not in use here")
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)
    for t in (int(v) for v in args.threads.split(",")):
        if not args.no_parts:
            parts(t, args.reps)
        if not args.no_model:
            model(t, args.rounds, args.runs, args.knob)
    print(f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
