"""The blocked MaxPool (gossamer::NchwcMaxPool) against the NCHW MaxPool kernel, alone and with
the two reorders the NCHW pool costs inside a blocked chain, on SqueezeNet 1.1's three pools
(3x3 stride 2, ceil_mode) and YOLOv8's SPPF pool (5x5 stride 1, pad 2); one process,
interleaved, median microseconds of `--runs` runs per turn. Not a test: nothing is asserted.

    .venv/bin/python benchmarks/nchwc_max_pool_bench.py --threads 1 --turns 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import gossamer
from gossamer.refimpl.ir import Graph, Node, Value

LAYERS = [  # (name, NCHW shape, attributes)
    ("squeezenet pool1 64x111x111", (1, 64, 111, 111),
     {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("squeezenet pool2 128x55x55", (1, 128, 55, 55),
     {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("squeezenet pool3 256x27x27", (1, 256, 27, 27),
     {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("yolov8n sppf 128x10x10", (1, 128, 10, 10),
     {"kernel_shape": [5, 5], "strides": [1, 1], "pads": [2, 2, 2, 2]}),
]  # fmt: skip
OPSETS = {"": 17, "gossamer": 1}


def _graph(nodes: list[Node], x_shape: tuple[int, ...]) -> Graph:
    return Graph(nodes, [Value("x", "float32", x_shape)], [Value("y", "float32")], {},
                 opsets=OPSETS)  # fmt: skip


def _sessions(shape: tuple[int, ...], attrs: dict, threads: int) -> dict:
    n, c, h, w = shape
    bshape = (n, c // 8, h, w, 8)
    g = "gossamer"
    blocked = _graph([Node("NchwcMaxPool", ["x"], ["y"], attrs, "p", g)], bshape)
    nchw = _graph([Node("MaxPool", ["x"], ["y"], attrs, "p")], shape)
    around = _graph([Node("NchwcReorderOutput", ["x"], ["a"], {}, "o", g),
                     Node("MaxPool", ["a"], ["b"], attrs, "p"),
                     Node("NchwcReorderInput", ["b"], ["y"], {"block_size": 8}, "i", g)],
                    bshape)  # fmt: skip
    rng = np.random.default_rng(0)
    x, xb = rng.standard_normal(shape, np.float32), rng.standard_normal(bshape, np.float32)
    return {
        "blocked": (gossamer.Session(blocked, backends=["cython"], threads=threads), xb),
        "nchw": (gossamer.Session(nchw, backends=["cython"], threads=threads), x),
        "reorder+nchw+reorder": (gossamer.Session(around, backends=["cython"], threads=threads),
                                 xb),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    print(f"threads {args.threads}, load {os.getloadavg()[0]:.2f}")
    for name, shape, attrs in LAYERS:
        sessions = _sessions(shape, attrs, args.threads)
        times: dict[str, list[float]] = {k: [] for k in sessions}
        for _ in range(args.turns):
            for key, (sess, x) in sessions.items():
                sess.run(None, {"x": x})
                for _ in range(args.runs):
                    t = time.perf_counter()
                    sess.run(None, {"x": x})
                    times[key].append((time.perf_counter() - t) * 1e6)
        med = {k: statistics.median(v) for k, v in times.items()}
        parts = "  ".join(f"{k} {v:8.1f} us" for k, v in med.items())
        print(f"{name:30s} {parts}  blocked/nchw {med['blocked'] / med['nchw']:.2f}")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
