"""The bf16 direct conv (gk_bf16_conv_direct, AMX) alone on ResNet-18's 3x3 shapes and the folded
stem node: the tiles storing the output with the epilogue themselves (bf16_conv_set_fused(True),
the default) against the tile buffer + copy + epilogue pass (False), interleaved call by call in
one process; then, with --scan, the time by output channels (how the cost grows per 32-row unit
of the tiles) and a 3x1 against a 1x3 kernel (taps a row apart against taps 4 / 8 bytes apart).

    .venv/bin/python benchmarks/bf16_conv_layers.py [--threads 1,2] [--reps 60] [--scan]
        [--residual]

Microseconds, min and median; the load before and after. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

F32 = np.float32


def _setup():  # noqa: ANN202 - the extension module
    from gossamer.cython_kernels._native import ext
    from gossamer.cython_kernels.bf16_mode import select_bf16_impl

    select_bf16_impl()
    if not ext().bf16_amx():
        raise SystemExit("the AMX tiles are not in use here: the direct conv does not run")
    return ext()


def _conv(e, rng, c: int, hw: int, m: int, k=(3, 3), s: int = 1, pads=(1, 1),  # noqa: ANN001, ANN202
          residual: bool = True):  # fmt: skip
    from gossamer.cython_kernels import bf16_conv
    from gossamer.cython_kernels.bf16_matmul import pack_a

    kh, kw = k
    oh, ow = (hw + 2 * pads[0] - kh) // s + 1, (hw + 2 * pads[1] - kw) // s + 1
    x = rng.standard_normal((c, hw, hw)).astype(F32)
    w = rng.standard_normal((m, c, kh, kw)).astype(F32)
    wr = np.zeros((m, kh, kw, e.bf16_conv_cpad(c)), F32)
    wr[..., :c] = w.transpose(0, 2, 3, 1)
    wp = pack_a(wr.reshape(m, -1))
    planes = bf16_conv._planes(e.bf16_conv_planes_size(c, kh, kw, s, s, 1, 1, oh, ow))
    y = np.empty((m, oh * ow), F32)
    z = rng.standard_normal((m, oh * ow)).astype(F32) if s == 1 and residual else None
    ep = e.Epilogue(bias_row=rng.standard_normal(m).astype(F32), residual=z, clip=True, lo=0.0,
                    hi=np.inf)  # fmt: skip

    def run(threads: int) -> None:
        e.bf16_conv_direct(x, kh, kw, s, s, 1, 1, *pads, oh, ow, wp, planes, y, ep, threads)

    return run


def _row(label: str, ts: dict) -> str:
    cells = [f"{k}: min {np.min(v) * 1e6:.0f} med {np.median(v) * 1e6:.0f}" for k, v in ts.items()]
    return f"{label}: " + " | ".join(cells)


def _timed(fn, *args, **kwargs) -> float:  # noqa: ANN001, ANN002, ANN003
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def fused_ab(e, threads: int, reps: int) -> None:  # noqa: ANN001
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.ir import Node

    rng = np.random.default_rng(0)
    for c, hw, m, s in ((64, 56, 64, 1), (128, 28, 128, 1), (256, 14, 256, 1), (512, 7, 512, 1),
                        (64, 56, 128, 2)):  # fmt: skip
        run = _conv(e, rng, c, hw, m, s=s)
        ts: dict = {"copy+epilogue": [], "tiles store": []}
        for _ in range(reps):
            for fused, key in ((False, "copy+epilogue"), (True, "tiles store")):
                e.bf16_conv_set_fused(fused)
                ts[key].append(_timed(run, threads))
        e.bf16_conv_set_fused(True)
        print(_row(f"{c} ch {hw}x{hw} -> {m} stride {s}, {threads} thread(s)", ts))
    x = rng.standard_normal((1, 3, 224, 224)).astype(F32)
    w, b = rng.standard_normal((64, 3, 7, 7)).astype(F32), rng.standard_normal(64).astype(F32)
    attrs = {"pads": [3, 3, 3, 3], "strides": [2, 2], "activation": "Relu"}
    stem = bf16_conv.prepare_fused_conv(
        Node("FusedConv", ["x", "w", "b"], ["y"], attrs), {1: w, 2: b}
    )
    ts = {"copy+epilogue": [], "tiles store": []}
    for _ in range(reps):
        for fused, key in ((False, "copy+epilogue"), (True, "tiles store")):
            e.bf16_conv_set_fused(fused)
            ts[key].append(_timed(stem, x, w, b, **attrs))
    e.bf16_conv_set_fused(True)
    print(_row(f"folded 7x7 stride-2 stem node, 1 thread (session threads: {threads})", ts))


def scan(e, reps: int) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    for c, hw in ((64, 56), (128, 28)):
        ts = {}
        runs = {m: _conv(e, rng, c, hw, m) for m in (1, 16, 32, 48, 64, 96, 128)}
        for _ in range(reps):
            for m, run in runs.items():
                ts.setdefault(f"m={m}", []).append(_timed(run, 1))
        print(_row(f"{c} ch {hw}x{hw} 3x3 by output channels, 1 thread", ts))
    runs = {"3x1": _conv(e, rng, 64, 64, 64, (3, 1), pads=(1, 0)),
            "1x3": _conv(e, rng, 64, 64, 64, (1, 3), pads=(0, 1)),
            "1x1": _conv(e, rng, 64, 64, 64, (1, 1), pads=(0, 0))}  # fmt: skip
    ts = {}
    for _ in range(reps):
        for k, run in runs.items():
            ts.setdefault(k, []).append(_timed(run, 1))
    print(_row("64 ch 64x64 -> 64, kernel 3x1 / 1x3 / 1x1, 1 thread", ts))


def residual_cost(e, reps: int) -> None:  # noqa: ANN001
    """ResNet-18's stride-1 3x3s with and without their residual, alternated call by call (one
    thread): what the residual's loads cost (session 26: its rows, a plane apart per output
    channel, miss the caches; the perf profile's hottest instruction was their add)."""
    rng = np.random.default_rng(2)
    for c, hw in ((64, 56), (128, 28), (256, 14)):
        with_z = _conv(e, rng, c, hw, c)
        without = _conv(e, rng, c, hw, c, residual=False)
        ts: dict = {"residual": [], "none": []}
        for _ in range(reps):
            ts["residual"].append(_timed(with_z, 1))
            ts["none"].append(_timed(without, 1))
        print(_row(f"{c} ch {hw}x{hw} 3x3, residual or none, 1 thread", ts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--scan", action="store_true")
    ap.add_argument("--residual", action="store_true", help="the residual's cost (one thread)")
    args = ap.parse_args()
    e = _setup()
    print("load before:", os.getloadavg())
    for t in (int(v) for v in args.threads.split(",")):
        fused_ab(e, t, args.reps)
    if args.scan:
        scan(e, args.reps)
    if args.residual:
        residual_cost(e, args.reps)
    print("load after:", os.getloadavg())


if __name__ == "__main__":
    main()
