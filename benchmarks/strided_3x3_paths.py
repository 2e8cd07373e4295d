"""ResNet's 3x3 stride-2 convs (fp32) by two paths in one process, interleaved call by call:
the packed GEMM path (`conv_gemm`: im2col into packed B, the weights packed A; ResNet's path in
the model) and the blocked direct conv (`nchwc_conv`, its input already NCHW8c, its weights in
the kernel's groups), plus the two reorders that the direct conv would need inside an NCHW chain
(`nchwc_reorder` of its input in and its output out); fastest and median of REPS calls each, us.
--cold streams 64 MiB between calls, so the weights and the input come from memory as in the
model (where the other layers run between two calls of a conv); warm leaves them in cache.
--warm-again weights|input|buffers then reads that operand back (packed A and the direct
conv's weights; the input x and its blocked copy; or the GEMM path's packed-B buffer and the
outputs) before each call: which cold operand costs.

    .venv/bin/python benchmarks/strided_3x3_paths.py --threads 2 --reps 30 [--cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

# (name, input channels, output channels, input side): ResNet-18's three, ResNet-50's first
SHAPES = [
    ("r18 64->128 56", 64, 128, 56),
    ("r18 128->256 28", 128, 256, 28),
    ("r18 256->512 14", 256, 512, 14),
    ("r50 128->128 56", 128, 128, 56),
]


def time_shape(e, name: str, c: int, m: int, h: int, args, flush) -> str:  # type: ignore[no-untyped-def]
    """One row of the table: each path's fastest / median us and the fastest's GF/s."""
    from gossamer.cython_kernels.nchwc_conv import _packed_nchwc

    rng = np.random.default_rng(c * m + h)
    t, oh = args.threads, (h - 1) // 2 + 1
    w = (rng.standard_normal((m, c, 3, 3)) * 0.05).astype(np.float32)
    x = rng.standard_normal((c, h, h)).astype(np.float32)
    bias = rng.standard_normal(m).astype(np.float32)
    apk = np.empty(e.packed_a_size(m, c * 9), np.float32)
    e.pack_a(w.reshape(m, -1), apk, 1)
    bp = np.empty(e.packed_b_size(c * 9, oh * oh), np.float32)
    y = np.empty((m, oh * oh), np.float32)
    xb = np.ascontiguousarray(x.reshape(c // 8, 8, h, h).transpose(0, 2, 3, 1)).reshape(-1)
    wp = _packed_nchwc(w, False).reshape(-1)
    yb = np.empty(m * oh * oh, np.float32)
    yo = np.empty(m * oh * oh, np.float32)

    def gemm_path() -> None:
        e.conv_gemm(apk, x, 3, 3, 2, 2, 1, 1, 1, 1, oh, oh, bp, y, bias, None,
                    0.0, np.inf, True, t)  # fmt: skip

    def direct() -> None:
        e.nchwc_conv(xb, 1, c, h, h, True, wp, m, 3, 3, 2, 2, 1, 1, 1, 1, oh, oh, bias, None,
                     0.0, np.inf, yb, t)  # fmt: skip

    def reorder_in() -> None:
        e.nchwc_reorder(x.reshape(-1), 1, c, h * h, xb, False, t)

    def reorder_out() -> None:
        e.nchwc_reorder(yb, 1, m, oh * oh, yo, True, t)

    paths = [gemm_path, direct, reorder_in, reorder_out]
    parts = {"weights": [apk, wp], "input": [x, xb], "buffers": [bp, y, yb, yo], None: []}
    warm_again = parts[args.warm_again]
    times: list[list[float]] = [[] for _ in paths]
    for r in range(args.reps + 2):
        for i, run in enumerate(paths):
            if args.cold:
                flush += 1.0
                for v in warm_again:  # (as integers: the buffers hold any bits)
                    int(v.view(np.int32).sum())
            t0 = time.perf_counter()
            run()
            if r >= 2:
                times[i].append((time.perf_counter() - t0) * 1e6)
    # the paths agree (the direct conv sums in another order: close, not the same bits)
    got = yb.reshape(m // 8, oh * oh, 8).transpose(0, 2, 1).reshape(m, -1)
    np.testing.assert_allclose(got, y, rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(yo.reshape(m, -1), got)
    flops = 2.0 * m * c * 9 * oh * oh
    cells = [f"{min(v):.0f} / {statistics.median(v):.0f}" for v in times]
    gf = " / ".join(f"{flops / min(v) * 1e-3:.0f}" for v in times[:2])
    return f"| {name} | {' | '.join(cells)} | {gf} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--cold", action="store_true", help="stream 64 MiB between calls")
    ap.add_argument("--warm-again", choices=["weights", "input", "buffers"], help="(with --cold)")
    args = ap.parse_args()

    from gossamer.cython_kernels._native import ext

    e = ext()
    flush = np.ones(16 << 20, np.float32)
    cold = f"cold{', ' + args.warm_again + ' warm again' if args.warm_again else ''}"
    print(f"{args.threads} thread(s), {args.reps} calls each, "
          f"{cold if args.cold else 'warm'}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print("| conv | GEMM path | nchwc direct | reorder in | reorder out | GF/s GEMM / nchwc |")
    print("|---|---:|---:|---:|---:|---|")
    for name, c, m, h in SHAPES:
        print(time_shape(e, name, c, m, h, args, flush))


if __name__ == "__main__":
    main()
