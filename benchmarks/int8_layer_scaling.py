"""ResNet's int8 convolution layers one at a time at 1 and 2 threads: Gossamer cython against
onnxruntime, one process, the four (engine, threads) sessions alternating run by run.

Each layer is int8_layers.py's one-node QLinearConv model. Per layer: each session's minimum and
median over --runs runs, each engine's speed-up 1 -> 2 threads, and Gossamer's 2-thread pool
calls (the im2col packer's and the 8-bit GEMM's: their median durations, "-" where a step ran
without the pool, i.e. on one thread). Not a test.

    .venv/bin/python benchmarks/int8_layer_scaling.py --runs 60
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from int8_layers import RESNET, layer_model  # noqa: E402

# ResNet's stride-2 1x1 downsampling convolutions
DOWN = [
    ("pw 64->128 @56 s2", 64, 56, 128, 1, 2, 1),
    ("pw 128->256 @28 s2", 128, 28, 256, 1, 2, 1),
    ("pw 256->512 @14 s2", 256, 14, 512, 1, 2, 1),
    ("pw 1024->2048 @14 s2", 1024, 14, 2048, 1, 2, 1),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--only", default="", help="comma-separated label substrings")
    ap.add_argument("--sleep-ms", type=float, default=2.0)
    args = ap.parse_args()
    import onnxruntime as ort
    from gossamer.cython_kernels import _ext as ext

    import gossamer

    rng = np.random.default_rng(0)
    layers = [
        lay for lay in RESNET + DOWN
        if not args.only or any(s in lay[0] for s in args.only.split(","))
    ]  # fmt: skip
    print(f"load {os.getloadavg()[0]:.2f}, {args.runs} runs per session")
    print("| layer | ours 1t min/med us | ours 2t | ours x | ort 1t | ort 2t | ort x | "
          "2t ours/ort (med) | ours 2t pool calls med us |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for label, cin, size, cout, k, stride, group in layers:
        model = layer_model(rng, cin, size, cout, k, stride, group)
        feed = {"x": rng.integers(0, 256, (1, cin, size, size)).astype(np.uint8)}
        runs = {}
        for t in (1, 2):
            runs["ours", t] = gossamer.load(model, backends=["cython"], threads=t).run
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = t, 1
            runs["ort", t] = ort.InferenceSession(
                model, opts, providers=["CPUExecutionProvider"]).run  # fmt: skip
        times: dict[tuple[str, int], list[float]] = {key: [] for key in runs}
        calls: list[list[float]] = []
        for _ in range(5):
            for run in runs.values():
                run(None, feed)
        for _ in range(args.runs):
            for key, run in runs.items():
                if key == ("ours", 2):
                    ext.pool_trace(True)
                t0 = time.perf_counter()
                run(None, feed)
                times[key].append((time.perf_counter() - t0) * 1e6)
                if key == ("ours", 2):
                    calls.append([(e[2] - e[0]) / 1e3 for e in ext.pool_trace(False)])
                if key[0] == "ort":
                    time.sleep(args.sleep_ms / 1e3)
        mn = {key: min(v) for key, v in times.items()}
        md = {key: statistics.median(v) for key, v in times.items()}
        width = max(len(c) for c in calls)
        pool = [statistics.median(c[i] for c in calls if len(c) > i) for i in range(width)]
        print(f"| {label} | {mn['ours', 1]:.0f} / {md['ours', 1]:.0f} | {mn['ours', 2]:.0f} / "
              f"{md['ours', 2]:.0f} | {md['ours', 1] / md['ours', 2]:.2f} | {mn['ort', 1]:.0f} / "
              f"{md['ort', 1]:.0f} | {mn['ort', 2]:.0f} / {md['ort', 2]:.0f} | "
              f"{md['ort', 1] / md['ort', 2]:.2f} | {md['ours', 2] / md['ort', 2]:.2f} | "
              f"{' + '.join(f'{p:.0f}' for p in pool) or '-'} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
