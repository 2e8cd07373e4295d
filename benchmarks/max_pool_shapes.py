"""Kernel-level timings of gk_pool2d's max pool on the benchmark models' pooling shapes
(SqueezeNet 1.1's 3x3 s2 ceil-mode pools, ResNet's 3x3 s2 pad 1, a 3x3 s1 pad 1), at the active
SIMD level (GOSSAMER_SIMD or auto), with the fast paths on and (--rows) off. To compare two
builds in one process, --base OLD.so loads another build of the extension beside the installed
one and times the two alternately, call by call:

    .venv/bin/python benchmarks/max_pool_shapes.py --threads 1,2 --runs 300
    .venv/bin/python benchmarks/max_pool_shapes.py --base /tmp/old_ext.so

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from kernel_levels import load_ext  # the sibling script (benchmarks/ is sys.path[0])

SHAPES = [  # (planes, h, w, k, stride, pad, what)
    (64, 111, 111, 3, 2, 0, "squeezenet MaxPool_8"),
    (128, 55, 55, 3, 2, 0, "squeezenet MaxPool_50"),
    (256, 27, 27, 3, 2, 0, "squeezenet MaxPool_92"),
    (64, 112, 112, 3, 2, 1, "resnet stem pool"),
    (64, 56, 56, 3, 1, 1, "3x3 s1 pad 1"),
]


def _out(n: int, k: int, s: int, p: int) -> int:
    return -(-(n + 2 * p - k) // s) + 1  # ceil mode


def _ab(exts: list, x: np.ndarray, k: int, s: int, p: int, y: np.ndarray, t: int, runs: int):
    """median and p10 seconds per extension, their calls alternating"""
    for e in exts:
        for _ in range(10):
            e.pool2d(True, x, k, k, s, s, 1, 1, p, p, None, None, y, t)
    ts: list[list[float]] = [[] for _ in exts]
    for _ in range(runs):
        for i, e in enumerate(exts):
            t0 = time.perf_counter()
            e.pool2d(True, x, k, k, s, s, 1, 1, p, p, None, None, y, t)
            ts[i].append(time.perf_counter() - t0)
    return [(sorted(v)[len(v) // 2], sorted(v)[len(v) // 10]) for v in ts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--rows", action="store_true", help="also with the fast paths off")
    ap.add_argument("--base", help="another build's _ext .so: time both, alternately")
    a = ap.parse_args()
    from gossamer.cython_kernels import _ext as ext
    from gossamer.cython_kernels import set_simd_level

    level = set_simd_level(os.environ.get("GOSSAMER_SIMD", "auto"))
    print(f"level {level}, load {os.getloadavg()[0]:.2f}")
    if a.base:
        base = load_ext(a.base)
        base.set_simd_index(ext.simd_index())
        ext.threads_start(max(int(v) for v in a.threads.split(",")))
        base.threads_start(max(int(v) for v in a.threads.split(",")))
        print(
            "| shape | what | threads | base median ms | this median ms | this / base | "
            "p10 base / this |\n|---|---|---:|---:|---:|---:|---|"
        )
        rng = np.random.default_rng(0)
        for c, h, w, k, s, p, what in SHAPES:
            x = rng.standard_normal((c, h, w)).astype(np.float32)
            y = np.empty((c, _out(h, k, s, p), _out(w, k, s, p)), np.float32)
            for t in (int(v) for v in a.threads.split(",")):
                (bm, bp), (tm, tp) = _ab([base, ext], x, k, s, p, y, t, a.runs)
                print(
                    f"| {c}x{h}x{w} k{k} s{s} p{p} | {what} | {t} | {bm * 1e3:.3f} | "
                    f"{tm * 1e3:.3f} | {tm / bm:.2f} | {bp * 1e3:.3f} / {tp * 1e3:.3f} |"
                )
        print(f"load after {os.getloadavg()[0]:.2f}")
        return
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
