"""Kernel-level timings of the direct conv (gk_conv_direct, few input channels: an image
model's stem) on the benchmark models' stem shapes, at the active SIMD level (GOSSAMER_SIMD or
auto), 1 and 2 threads. --base OLD.so loads another build of the extension beside the installed
one and times the two alternately, call by call, in one process:

    .venv/bin/python benchmarks/stem_conv.py --threads 1,2 --runs 200
    .venv/bin/python benchmarks/stem_conv.py --base /tmp/old_ext.so

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from kernel_levels import load_ext  # the sibling script (benchmarks/ is sys.path[0])

SHAPES = [  # (c, h, w, m, k, stride, pad, what)
    (3, 224, 224, 64, 3, 2, 0, "squeezenet 1.1 Conv_4"),
    (3, 224, 224, 32, 3, 2, 1, "mobilenet v2 stem"),
    (3, 224, 224, 64, 7, 2, 3, "resnet stem"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--base", help="another build's _ext .so: time both, alternately")
    a = ap.parse_args()
    from gossamer.cython_kernels import _ext as ext
    from gossamer.cython_kernels import set_simd_level

    level = set_simd_level(os.environ.get("GOSSAMER_SIMD", "auto"))
    exts = [ext]
    if a.base:
        exts = [load_ext(a.base), ext]
        exts[0].set_simd_index(ext.simd_index())
    counts = [int(v) for v in a.threads.split(",")]
    for e in exts:
        e.threads_start(max(counts))
    print(f"level {level}, load {os.getloadavg()[0]:.2f}")
    cols = " | ".join(["base ms", "this ms", "this / base"] if a.base else ["median ms", "p10 ms"])
    print(f"| shape | what | threads | {cols} | GFLOP/s (this) |")
    print("|---|---|---:|" + "---:|" * (len(cols.split("|")) + 1))
    rng = np.random.default_rng(0)
    for c, h, w, m, k, s, p, what in SHAPES:
        x = rng.standard_normal((1, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((m, c * k * k)).astype(np.float32)
        wt_t = np.zeros((c * k * k, -(-m // 16) * 16), np.float32)
        wt_t[:, :m] = wt.T
        bias = rng.standard_normal(m).astype(np.float32)
        oh = ow = (h + 2 * p - k) // s + 1
        y = np.empty((1, m, oh, ow), np.float32)
        work = np.empty(ext.conv_direct_work(c, h, w, k, k, s, s, 1, 1, p, p, oh, ow), np.float32)
        flops = 2.0 * m * c * k * k * oh * ow
        for t in counts:
            args = (x, wt_t, k, k, s, s, 1, 1, p, p, bias, 0.0, np.inf, True, y, work, t)

            def call(e, args=args):
                e.conv_direct(*args)

            for e in exts:
                for _ in range(5):
                    call(e)
            ts: list[list[float]] = [[] for _ in exts]
            for _ in range(a.runs):
                for i, e in enumerate(exts):
                    t0 = time.perf_counter()
                    call(e)
                    ts[i].append(time.perf_counter() - t0)
            med = [sorted(v)[len(v) // 2] for v in ts]
            if a.base:
                row = f"{med[0] * 1e3:.3f} | {med[1] * 1e3:.3f} | {med[1] / med[0]:.2f}"
            else:
                row = f"{med[0] * 1e3:.3f} | {sorted(ts[0])[len(ts[0]) // 10] * 1e3:.3f}"
            print(
                f"| {c}x{h}x{w} -> {m} k{k} s{s} p{p} | {what} | {t} | {row} | "
                f"{flops / med[-1] / 1e9:.0f} |"
            )
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
