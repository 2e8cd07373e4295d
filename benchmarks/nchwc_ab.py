"""Blocked layout A/B: Gossamer cython with the NCHW8c chains (default) against the same model
with GOSSAMER_BLOCKED_LAYOUT=0 and against onnxruntime, in one process, interleaved (each turn
runs every engine `--inner` times; medians over all timed runs), at 1 and 2 threads.

    .venv/bin/python benchmarks/nchwc_ab.py --models ppocrv4_rec,mobilenet_v2 --turns 15

Models come from the side-by-side cache (benchmarks/bench_models.py prepares them: the -O3 .gsm
and the feeds). Prints one Markdown table per thread count, with the load average around it.
Results: benchmarks/results/nchwc_layout.md."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import all_model_names, prepare  # noqa: E402


def _gossamer(gsm: str, threads: int, blocked: bool):  # type: ignore[no-untyped-def]
    import gossamer

    os.environ["GOSSAMER_BLOCKED_LAYOUT"] = "1" if blocked else "0"
    sess = gossamer.load(gsm, backends=["cython"], threads=threads)
    os.environ.pop("GOSSAMER_BLOCKED_LAYOUT")
    layout = sess.graph.metadata.get("gossamer.layout")
    return (lambda feeds: sess.run(None, feeds)), layout


def _ort(onnx: str, threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx, so, providers=["CPUExecutionProvider"])
    return lambda feeds: sess.run(None, feeds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ppocrv4_rec,ppocr_mobile_v2_cls,mobilenet_v2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--turns", type=int, default=15)
    ap.add_argument("--inner", type=int, default=3)
    args = ap.parse_args()
    names = args.models.split(",")
    unknown = set(names) - set(all_model_names())
    if unknown:
        sys.exit(f"unknown models: {sorted(unknown)}")
    for t in (int(v) for v in args.threads.split(",")):
        load0 = open("/proc/loadavg").read().split()[:3]
        rows = []
        for name in names:
            spec = json.loads(Path(prepare(name, ["gossamer-cython", "onnxruntime"], 3, None)
                                   .spec_path).read_text())  # fmt: skip
            feeds = dict(np.load(spec["feeds"]))
            blocked, layout = _gossamer(spec["gsm"], t, True)
            plain, _ = _gossamer(spec["gsm"], t, False)
            engines = {"blocked": blocked, "nchw": plain, "ort": _ort(spec["onnx"], t)}
            times: dict[str, list[float]] = {k: [] for k in engines}
            for run in engines.values():  # warm-up
                run(feeds)
                run(feeds)
            for _ in range(args.turns):
                for key, run in engines.items():
                    run(feeds)  # wake-up, untimed
                    for _ in range(args.inner):
                        t0 = time.perf_counter()
                        run(feeds)
                        times[key].append((time.perf_counter() - t0) * 1e3)
            med = {k: statistics.median(v) for k, v in times.items()}
            rows.append((name, med, layout))
        load1 = open("/proc/loadavg").read().split()[:3]
        print(f"\n## {t} thread(s), load {' '.join(load0)} -> {' '.join(load1)}\n")
        print("| model | blocked | NCHW | onnxruntime | blocked / NCHW | blocked / ort | plan |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for name, m, layout in rows:
            print(f"| {name} | {m['blocked']:.2f} | {m['nchw']:.2f} | {m['ort']:.2f} | "
                  f"{m['blocked'] / m['nchw']:.2f} | {m['blocked'] / m['ort']:.2f} | "
                  f"{layout or '-'} |")  # fmt: skip


if __name__ == "__main__":
    main()
