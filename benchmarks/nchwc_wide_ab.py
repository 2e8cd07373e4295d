"""Whole-model A/B of the blocked layout's policy, in one process, interleaved turn by turn: the
narrow pass (GOSSAMER_BLOCKED_WIDE=0: only chains with a depthwise conv) against the wide one
(the default with the AVX-512 kernels: chains without one and wide k x k convs too), on the
benchmark models (~/.cache/gossamer/bench/<name>-*/O3.gsm). onnxruntime only with --ort, after
the A/B and not interleaved with it: its spinning worker threads slow whichever engine runs right
after it at 2 threads. Each run's process CPU time (time.process_time) too: at one thread what the
other processes' time slices on a shared machine do not inflate.

    .venv/bin/python benchmarks/nchwc_wide_ab.py --models resnet18,squeezenet1_1 --threads 1,2

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import time

import numpy as np

import gossamer


def _load(d: str, threads: int, wide: bool):
    os.environ["GOSSAMER_BLOCKED_WIDE"] = "1" if wide else "0"
    try:
        return gossamer.load(f"{d}/O3.gsm", backends=["cython"], threads=threads)
    finally:
        os.environ.pop("GOSSAMER_BLOCKED_WIDE", None)


def _median_ms(sess, feeds: dict, turns: int) -> float:
    for _ in range(3):
        sess.run(None, feeds)
    times = []
    for _ in range(turns):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,squeezenet1_1")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per engine per turn")
    ap.add_argument("--ort", action="store_true")
    args = ap.parse_args()
    for name in args.models.split(","):
        d = glob.glob(os.path.expanduser(f"~/.cache/gossamer/bench/{name}-*"))[0]
        feeds = dict(np.load(f"{d}/feeds.npz"))
        for t in (int(v) for v in args.threads.split(",")):
            load0 = open("/proc/loadavg").read().split()[0]
            narrow, wide = _load(d, t, False), _load(d, t, True)
            ya, yb = narrow.run(None, feeds), wide.run(None, feeds)
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ya, yb))
            runs: dict[str, list[float]] = {"narrow": [], "wide": []}
            cpu: dict[str, list[float]] = {"narrow": [], "wide": []}
            for s in (narrow, wide):
                for _ in range(3):
                    s.run(None, feeds)
            for _ in range(args.turns):
                for key, s in (("narrow", narrow), ("wide", wide)):
                    for _ in range(args.runs):
                        t0, c0 = time.perf_counter(), time.process_time()
                        s.run(None, feeds)
                        runs[key].append(time.perf_counter() - t0)
                        cpu[key].append(time.process_time() - c0)
            med = {k: statistics.median(v) * 1e3 for k, v in runs.items()}
            mcpu = {k: statistics.median(v) * 1e3 for k, v in cpu.items()}
            line = (f"{name} t={t} narrow {med['narrow']:.2f} wide {med['wide']:.2f} ms "
                    f"wide/narrow {med['wide'] / med['narrow']:.3f} | process CPU narrow "
                    f"{mcpu['narrow']:.2f} wide {mcpu['wide']:.2f} ms "
                    f"{mcpu['wide'] / mcpu['narrow']:.3f}")  # fmt: skip
            if args.ort:
                import onnxruntime as ort

                so = ort.SessionOptions()
                so.intra_op_num_threads, so.inter_op_num_threads = t, 1
                o = ort.InferenceSession(f"{d}/{name}.onnx", so,
                                         providers=["CPUExecutionProvider"])  # fmt: skip
                ms = _median_ms(o, feeds, args.turns * args.runs)
                line += f" | onnxruntime {ms:.2f} (after)"
                del o
            load1 = open("/proc/loadavg").read().split()[0]
            print(f"{line} | wide plan {wide.graph.metadata.get('gossamer.layout')} | "
                  f"max diff {diff:.1e} | load {load0}-{load1}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
