"""Kernel-level timings of gk_pool2d's max pool on the benchmark models' pooling shapes
(SqueezeNet 1.1's 3x3 s2 ceil-mode pools, ResNet's 3x3 s2 pad 1, a 3x3 s1 pad 1), at the active
SIMD level (GOSSAMER_SIMD or auto), with the fast paths on and (--rows) off. Run it with each
tree's venv, interleaved, to compare two builds:

    .venv/bin/python benchmarks/max_pool_shapes.py --threads 1,2 --runs 300

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

SHAPES = [  # (planes, h, w, k, stride, pad, what)
    (64, 111, 111, 3, 2, 0, "squeezenet MaxPool_8"),
    (128, 55, 55, 3, 2, 0, "squeezenet MaxPool_50"),
    (256, 27, 27, 3, 2, 0, "squeezenet MaxPool_92"),
    (64, 112, 112, 3, 2, 1, "resnet stem pool"),
    (64, 56, 56, 3, 1, 1, "3x3 s1 pad 1"),
]


def _out(n: int, k: int, s: int, p: int) -> int:
    return -(-(n + 2 * p - k) // s) + 1  # ceil mode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--rows", action="store_true", help="also with the fast paths off")
    a = ap.parse_args()
    from gossamer.cython_kernels import _ext as ext
    from gossamer.cython_kernels import set_simd_level

    level = set_simd_level(os.environ.get("GOSSAMER_SIMD", "auto"))
    print(f"level {level}, load {os.getloadavg()[0]:.2f}")
    print("| shape | what | threads | path | median ms | p10 ms |\n|---|---|---:|---|---:|---:|")
    rng = np.random.default_rng(0)
    for c, h, w, k, s, p, what in SHAPES:
        x = rng.standard_normal((c, h, w)).astype(np.float32)
        y = np.empty((c, _out(h, k, s, p), _out(w, k, s, p)), np.float32)
        for t in (int(v) for v in a.threads.split(",")):
            for on in (1, 0) if a.rows else (1,):
                before = ext.polyphase_on(on)
                try:
                    for _ in range(10):
                        ext.pool2d(True, x, k, k, s, s, 1, 1, p, p, None, None, y, t)
                    ts = []
                    for _ in range(a.runs):
                        t0 = time.perf_counter()
                        ext.pool2d(True, x, k, k, s, s, 1, 1, p, p, None, None, y, t)
                        ts.append(time.perf_counter() - t0)
                finally:
                    ext.polyphase_on(int(before))
                ts.sort()
                path = "fast" if on else "rows"
                print(
                    f"| {c}x{h}x{w} k{k} s{s} p{p} | {what} | {t} | {path} | "
                    f"{ts[len(ts) // 2] * 1e3:.3f} | {ts[len(ts) // 10] * 1e3:.3f} |"
                )
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
