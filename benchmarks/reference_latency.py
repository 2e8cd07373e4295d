"""Reference-interpreter latency vs onnx.reference.ReferenceEvaluator vs onnxruntime (1 thread).

Builds MobileNetV2, ResNet-18 and a 6-layer MiniLM-style encoder in code with fixed seeds, checks
that the three engines agree, then times them interleaved (round-robin, median of --runs; the slow
onnx.reference gets --slow-runs). Prints a markdown table with ratios; targets (issue 2): Gossamer's
reference >= 20x faster than onnx.reference and <= 5x onnxruntime with one thread.

    python benchmarks/reference_latency.py [--runs 20] [--slow-runs 3] [--models a,b]
                                           [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator

import gossamer
from gossamer.builtin_models import minilm_encoder, mobilenet_v2, resnet18

MODELS = {"mobilenet_v2": mobilenet_v2, "resnet18": resnet18, "minilm": minilm_encoder}


def feeds_for(name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    if name == "minilm":
        return {
            "input_ids": rng.integers(0, 1000, (1, 128)).astype(np.int64),
            "attention_mask": np.ones((1, 128), np.int64),
        }
    return {"image": rng.random((1, 3, 224, 224), dtype=np.float32)}


def engines(model) -> dict:
    blob = model.SerializeToString()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    ort_sess = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
    ours = gossamer.load(blob, backends=["reference"])
    evaluator = ReferenceEvaluator(model)
    return {
        "gossamer-reference": lambda f: ours.run(None, f)[0],
        "onnx.reference": lambda f: evaluator.run(None, f)[0],
        "onnxruntime-1t": lambda f: ort_sess.run(None, f)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--slow-runs", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json", help="also write the raw medians here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = {}
    for name in args.models.split(","):
        model = MODELS[name]()
        feeds = feeds_for(name)
        runs = engines(model)
        outs = {k: fn(feeds) for k, fn in runs.items()}  # warm-up + agreement check
        ref = outs["onnxruntime-1t"]
        err = {
            k: float(np.max(np.abs(v - ref)) / (np.max(np.abs(ref)) + 1e-12))
            for k, v in outs.items()
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        for i in range(args.runs):
            for k, fn in runs.items():
                if k == "onnx.reference" and i >= args.slow_runs:
                    continue
                t = time.perf_counter()
                fn(feeds)
                times[k].append(time.perf_counter() - t)
        rows[name] = {k: statistics.median(v) * 1000 for k, v in times.items()} | {
            "max_rel_err": err
        }
        print(
            f"{name}: "
            + ", ".join(f"{k} {statistics.median(v) * 1000:.1f} ms" for k, v in times.items()),
            flush=True,
        )
    print()
    print(
        "| model | gossamer reference (ms) | onnx.reference (ms) | onnxruntime 1 thread (ms) "
        "| speed-up vs onnx.reference | gossamer / onnxruntime |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        g, o, t = r["gossamer-reference"], r["onnx.reference"], r["onnxruntime-1t"]
        print(f"| {name} | {g:.1f} | {o:.1f} | {t:.1f} | {o / g:.1f}x | {g / t:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
