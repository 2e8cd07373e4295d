"""ResNet-18's Winograd convs, each alone (`winograd_conv` with a residual and Relu, the chunk
sizes conv_kernels picks, 4 rotating inputs and outputs): min / median of --reps calls at 1 and 2
threads, us. One build per process: compare builds by running it in each tree.

    .venv/bin/python benchmarks/winograd_alone.py --reps 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

# (name, channels in = out, plane, tile size) as conv_kernels.use_winograd picks them
LAYERS = [("56x56 64", 64, 56, 4), ("28x28 128", 128, 28, 4), ("14x14 256", 256, 14, 4),
          ("7x7 512", 512, 7, 2)]  # fmt: skip


def _chunk(mt: int, c: int, m: int, threads: int) -> int:
    """conv_kernels._Conv.run's tiles per chunk."""
    a2cm = (mt + 2) ** 2 * (c + m)
    if threads == 1:
        return max(32, (1 << 17) // a2cm // 16 * 16)
    return max(64, (3 << 19) // a2cm // 16 * 16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()

    from gossamer.cython_kernels._native import ext
    from gossamer.cython_kernels.conv_kernels import _Conv

    rng = np.random.default_rng(0)
    print(os.popen("uptime").read().strip())
    for name, c, hw, mt in LAYERS:
        m = c
        u = _Conv._pack_winograd(rng.standard_normal((m, c, 3, 3)).astype(np.float32) * 0.05, mt)
        xs = [rng.standard_normal((1, c, hw, hw)).astype(np.float32) for _ in range(4)]
        zs = [rng.standard_normal((1, m, hw, hw)).astype(np.float32) for _ in range(4)]
        ys = [np.empty((1, m, hw, hw), np.float32) for _ in range(4)]
        bias = rng.standard_normal(m).astype(np.float32)
        cells = []
        for threads in (1, 2):
            chunk = _chunk(mt, c, m, threads)
            work = np.empty(ext().winograd_work(mt, c, m, hw, hw, chunk, threads), np.float32)
            times = []
            for i in range(args.reps):
                k = i % 4
                t0 = time.perf_counter()
                ext().winograd_conv(mt, xs[k], 1, 1, u, m, bias, 0.0, np.inf, True, ys[k], work,
                                    chunk, threads, residual=zs[k])  # fmt: skip
                times.append((time.perf_counter() - t0) * 1e6)
            cells.append(f"{threads}t {min(times):7.1f} / {statistics.median(times):7.1f}")
        print(f"{name:10s} | " + " | ".join(cells), flush=True)
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
