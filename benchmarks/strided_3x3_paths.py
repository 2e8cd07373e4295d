"""ResNet's 3x3 stride-2 convs (fp32) by three paths in one process, interleaved call by call:
the packed GEMM path (`conv_gemm`: im2col into packed B, the weights packed A) with packed A's
L2 prefetch off and on (`gemm_tune_pfa`), and the blocked direct conv (`nchwc_conv`, its input
already NCHW8c, its weights in the kernel's groups), fastest and median of REPS calls each, us.
--cold streams 64 MiB between calls, so the weights and the input come from memory as in the
model (where the other layers run between two calls of a conv); warm leaves them in cache.

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

    def gemm_path(pfa: int) -> None:
        e.gemm_tune_pfa(pfa, -1)
        e.conv_gemm(apk, x, 3, 3, 2, 2, 1, 1, 1, 1, oh, oh, bp, y, bias, None,
                    0.0, np.inf, True, t)  # fmt: skip

    def direct() -> None:
        e.nchwc_conv(xb, 1, c, h, h, True, wp, m, 3, 3, 2, 2, 1, 1, 1, 1, oh, oh, bias, None,
                     0.0, np.inf, yb, t)  # fmt: skip

    paths = [lambda: gemm_path(0), lambda: gemm_path(1), direct]
    times: list[list[float]] = [[] for _ in paths]
    for r in range(args.reps + 2):
        for i, run in enumerate(paths):
            if args.cold:
                flush += 1.0
            t0 = time.perf_counter()
            run()
            if r >= 2:
                times[i].append((time.perf_counter() - t0) * 1e6)
    # the paths agree (the direct conv sums in another order: close, not the same bits)
    got = yb.reshape(m // 8, oh * oh, 8).transpose(0, 2, 1).reshape(m, -1)
    np.testing.assert_allclose(got, y, rtol=1e-3, atol=1e-3)
    flops = 2.0 * m * c * 9 * oh * oh
    cells = [f"{min(v):.0f} / {statistics.median(v):.0f}" for v in times]
    gf = " / ".join(f"{flops / min(v) * 1e-3:.0f}" for v in times)
    return f"| {name} | {' | '.join(cells)} | {gf} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--cold", action="store_true", help="stream 64 MiB between calls")
    args = ap.parse_args()

    from gossamer.cython_kernels._native import ext

    e = ext()
    flush = np.ones(16 << 20, np.float32)
    print(f"{args.threads} thread(s), {args.reps} calls each, "
          f"{'cold' if args.cold else 'warm'}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print("| conv | GEMM path, pfa off | GEMM path, pfa on | nchwc direct | GF/s (fastest) |")
    print("|---|---:|---:|---:|---|")
    old = e.gemm_tune_pfa(-1, -1)
    try:
        for name, c, m, h in SHAPES:
            print(time_shape(e, name, c, m, h, args, flush))
    finally:
        e.gemm_tune_pfa(*old)


if __name__ == "__main__":
    main()
