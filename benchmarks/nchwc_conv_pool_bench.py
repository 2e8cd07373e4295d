"""SqueezeNet 1.1's stem conv (3 -> 64, 3x3 s2, 224 -> 111, Relu) and first MaxPool (3x3 s2,
111 -> 55) as two blocked calls (nchwc_conv, nchwc_max_pool) and as the fused one
(nchwc_conv_max_pool), interleaved call by call, for each band size given.

    .venv/bin/python benchmarks/nchwc_conv_pool_bench.py --threads 1 --bands 65536,262144,524288

Not a test: nothing is asserted (the bits are compared and printed)."""

from __future__ import annotations

import argparse
import time

import numpy as np
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.nchwc_conv import pack_conv_weights

C, H, W, M, OH, POH = 3, 224, 224, 64, 111, 55


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bands", default="262144", help="band bytes to try, comma-separated")
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    e, rng, t = ext(), np.random.default_rng(0), args.threads
    x = rng.standard_normal(C * H * W, dtype=np.float32)
    wp = pack_conv_weights(rng.standard_normal((M, C, 3, 3), dtype=np.float32))
    b = rng.standard_normal(M, dtype=np.float32)
    mid = np.empty(M * OH * OH, np.float32)
    y1, y2 = np.empty(M * POH * POH, np.float32), np.empty(M * POH * POH, np.float32)
    conv = (1, C, H, W, False, wp, M, 3, 3, 2, 2, 1, 1, 0, 0, OH, OH, b)
    pool = (3, 3, 2, 2, 1, 1, 0, 0, POH, POH)

    def apart() -> None:
        e.nchwc_conv(x, *conv, None, 0.0, np.inf, mid, t)
        e.nchwc_max_pool(mid, 1, M, OH, OH, *pool, y1, t)

    def fused() -> None:
        e.nchwc_conv_max_pool(x, *conv, 0.0, np.inf, *pool, y2, t)

    old = e.nchwc_pool_band_bytes()
    print(
        "| band bytes | apart us (median / min) | fused us (median / min) | fused / apart | "
        "same bits | load |\n|---:|---:|---:|---:|---|---|"
    )
    for band in [int(v) for v in args.bands.split(",")]:
        e.nchwc_pool_band_bytes(band)
        apart(), fused()
        same = np.array_equal(y1, y2)
        ta, tb = [], []
        load = open("/proc/loadavg").read().split()[0]
        for _ in range(args.calls):
            t0 = time.perf_counter()
            apart()
            t1 = time.perf_counter()
            fused()
            ta.append(t1 - t0)
            tb.append(time.perf_counter() - t1)
        a, f = np.median(ta) * 1e6, np.median(tb) * 1e6
        print(
            f"| {band} | {a:.0f} / {min(ta) * 1e6:.0f} | {f:.0f} / {min(tb) * 1e6:.0f} | "
            f"{f / a:.2f} / {min(tb) / min(ta):.2f} | {same} | {load} |"
        )
    e.nchwc_pool_band_bytes(old)


if __name__ == "__main__":
    main()
