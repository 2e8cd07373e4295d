"""8-bit MaxPool (ResNet's 64 x 112 x 112, 3x3 stride 2 pad 1) and QLinearGlobalAveragePool row
means (512 and 2048 rows of 7 x 7) on two builds of the extension in one process, the builds
alternating call by call; asserts both give the same bytes. Times in microseconds, median / min
of --reps. Not a test.

    .venv/bin/python benchmarks/int8_elementwise_ab.py /tmp/base17/cython_kernels/_ext.cpython-311-x86_64-linux-gnu.so cython_kernels/_ext.cpython-311-x86_64-linux-gnu.so --threads 1
"""  # noqa: E501

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from typing import Any

import numpy as np


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("gossamer.cython_kernels._ext", path)
    assert spec and spec.loader
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args()
    mods = {"a": load(args.a), "b": load(args.b)}
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 112, 112), dtype=np.uint8)
    g1 = rng.integers(0, 256, (512, 49), dtype=np.uint8)
    g2 = rng.integers(0, 256, (2048, 49), dtype=np.uint8)
    t = args.threads
    calls = {
        "maxpool": lambda m, y: m.qmaxpool(x, 0, 3, 3, 2, 2, 1, 1, 1, 1, y.reshape(64, 56, 56), t),
        "gap 512 x 49 (uint8)": lambda m, y: m.qrow_mean(g1, 0, 3, 0.02, 7.0, y[:512], t),
        "gap 2048 x 49 (int8)": lambda m, y: m.qrow_mean(g2, 1, 3, 0.02, 7.0, y[:2048], t),
    }
    times = {(k, c): [] for k in mods for c in calls}
    outs = {k: np.empty(64 * 56 * 56, np.uint8) for k in mods}
    for c, call in calls.items():
        for _ in range(args.reps):
            for k, m in mods.items():
                t0 = time.perf_counter()
                call(m, outs[k])
                times[k, c].append((time.perf_counter() - t0) * 1e6)
        assert (outs["a"] == outs["b"]).all(), c
    print(f"{t} thread(s), load {os.getloadavg()[0]:.2f}; a = {args.a}, b = {args.b}")
    for (k, c), v in times.items():
        print(f"  {k} {c}: {statistics.median(v):.1f} / {min(v):.1f} us")


if __name__ == "__main__":
    main()
