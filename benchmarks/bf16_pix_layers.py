"""ResNet-18's 3x3 convs (bias + residual + Relu) on the pixel blocks (src/bf16_pix.h) against
the pair-plane direct conv (src/bf16.h: float32 NCHW in and out, the path of a bf16 session
without chains), in one process, calls alternated (medians / minima, us):

    .venv/bin/python benchmarks/bf16_pix_layers.py [--threads 1,2] [--reps 60]

Per shape (c x h^2 -> c, 3x3, pad 1): `planes` = bf16_conv_direct (float32 image, residual and
output), `pix` = bf16_pix_conv from the blocks to the blocks (a bf16 residual in the blocks),
`pix no-overlap` = the same with bf16_pix_set_overlap(False), `pix->f32` = from the blocks to
float32 NCHW (a chain's last conv), `in` / `out` = the reorders of the image (float32 NCHW to the
blocks and back). Every buffer on a 64-byte boundary (as the chains' and the planes' are).
Needs the AMX tiles. The load average is printed before and after."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from gossamer.cython_kernels._common import aligned_empty
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.bf16_pix_chain import pix_weights

F32 = np.float32
SHAPES = [(64, 56), (128, 28), (256, 14), (512, 7)]


def _packed_a(w: np.ndarray) -> np.ndarray:
    m, c, kh, kw = w.shape
    wr = np.zeros((m, kh, kw, ext().bf16_conv_cpad(c)), F32)
    wr[..., :c] = w.transpose(0, 2, 3, 1)
    wr = wr.reshape(m, -1)
    out = aligned_empty(ext().bf16_packed_a_size(*wr.shape), np.uint32)
    ext().bf16_pack_a(wr, out, 1)
    return out


def _form(c: int, h: int) -> tuple[int, ...]:
    return (c, h, h, 1, 1, h + 2, h + 2)


def bench(c: int, h: int, threads: int, reps: int, rng: np.random.Generator) -> dict:
    x = rng.standard_normal((c, h, h)).astype(F32)
    w = (rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)).astype(F32)
    bias = rng.standard_normal(c).astype(F32)
    z = rng.standard_normal((c, h * h)).astype(F32)
    f = _form(c, h)
    size = ext().bf16_pix_size(f)
    # on 64-byte boundaries, as the chains allocate them (a tile row across two cache lines
    # halves the tile loads' rate)
    xb, zb, yb, xb2 = (aligned_empty(size, np.uint32) for _ in range(4))
    ext().bf16_pix_from_nchw(x, f, xb, threads)
    ext().bf16_pix_from_nchw(z.reshape(c, h, h), f, zb, threads)
    y = np.zeros((c, h * h), F32)
    planes = aligned_empty(ext().bf16_conv_planes_size(c, 3, 3, 1, 1, 1, 1, h, h), np.uint32)
    wa, wb = _packed_a(w), pix_weights(w)
    ep = ext().Epilogue(bias_row=bias, residual=z, clip=True, lo=0.0, hi=np.inf)
    inf = float("inf")

    def pix(out_f32: bool = False) -> None:
        if out_f32:
            ext().bf16_pix_conv(xb, f, 1, 3, 3, 1, 1, h, h, c, wb, bias, zb, f, 0.0, inf, None,
                                None, y, threads)  # fmt: skip
        else:
            ext().bf16_pix_conv(xb, f, 1, 3, 3, 1, 1, h, h, c, wb, bias, zb, f, 0.0, inf, yb, f,
                                None, threads)  # fmt: skip

    def no_overlap() -> None:
        ext().bf16_pix_set_overlap(False)
        pix()
        ext().bf16_pix_set_overlap(True)

    fns = {
        "planes": lambda: ext().bf16_conv_direct(
            x, 3, 3, 1, 1, 1, 1, 1, 1, h, h, wa, planes, y, ep, threads
        ),  # fmt: skip
        "pix": pix,
        "pix no-overlap": no_overlap,
        "pix->f32": lambda: pix(True),
        "in": lambda: ext().bf16_pix_from_nchw(x, f, xb2, threads),
        "out": lambda: ext().bf16_pix_to_nchw(yb, f, y.reshape(c, h, h), threads),
    }
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=60)
    args = ap.parse_args()
    ext().bf16_set_impl("native")
    if not ext().bf16_amx():
        raise SystemExit("the AMX tiles are not in use here")
    rng = np.random.default_rng(0)
    print(f"load before: {os.getloadavg()}")
    for t in (int(v) for v in args.threads.split(",")):
        for c, h in SHAPES:
            times = bench(c, h, t, args.reps, rng)
            cells = ", ".join(f"{k} {np.median(v) * 1e6:.0f} / {np.min(v) * 1e6:.0f}"
                              for k, v in times.items())  # fmt: skip
            print(f"{t} thr  {c} x {h}^2: {cells}", flush=True)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
