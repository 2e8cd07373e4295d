"""The shared TFLite models on Gossamer's cython backend against LiteRT (ai-edge-litert, default
XNNPACK delegate) at 1 and 2 threads, in one process, runs interleaved (Gossamer, LiteRT,
Gossamer, ...) so the shared machine's noise falls on both. Reports p50 / p90 latency and the
ratio Gossamer / LiteRT, plus where Gossamer's graph stands after -O3 (nodes, Transposes left,
nodes on the reference backend). Not a test: no timing is asserted.

    .venv/bin/python benchmarks/tflite_vs_litert.py                       # all, 200 runs each
    .venv/bin/python benchmarks/tflite_vs_litert.py --runs 50 --models oww_embedding
Writes benchmarks/results/tflite_vs_litert.md (and .json) unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np

MODELS = Path.home() / ".cache" / "gossamer" / "models"
NAMES = ["mp_face_detection_short_range", "mp_hand_landmark_lite", "oww_embedding",
         "oww_melspectrogram", "mww_okay_nabu_int8"]  # fmt: skip
SHAPES = {"oww_melspectrogram": (1, 1280)}  # dynamic inputs: the shape openWakeWord feeds
HERE = Path(__file__).resolve().parent


def _feeds(interp, name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for d in interp.get_input_details():
        shape = SHAPES.get(name, tuple(d["shape"]))
        if tuple(d["shape"]) != shape:
            interp.resize_tensor_input(d["index"], shape)
        if np.issubdtype(d["dtype"], np.integer):
            info = np.iinfo(d["dtype"])
            feeds[d["name"]] = rng.integers(info.min, info.max + 1, shape).astype(d["dtype"])
        else:
            feeds[d["name"]] = rng.uniform(-1, 1, shape).astype(d["dtype"])
    interp.allocate_tensors()
    return feeds


def _graph_facts(sess) -> dict:
    ops = Counter(n.op_type for n in sess.graph.nodes)
    where = sess.placement.backend_of
    on_reference = Counter(n.op_type for n in sess.graph.nodes if where.get(n.name) == "reference")
    return {
        "nodes": len(sess.graph.nodes),
        "transposes": ops.get("Transpose", 0),
        "backends": dict(Counter(where.values())),
        "reference_ops": dict(on_reference),
    }


def bench(name: str, threads: int, runs: int, warmup: int) -> dict:
    from ai_edge_litert import interpreter as litert

    import gossamer

    path = MODELS / f"{name}.tflite"
    interp = litert.Interpreter(model_path=str(path), num_threads=threads)
    feeds = _feeds(interp, name)
    details = interp.get_input_details()
    sess = gossamer.load(path, backends=["cython"], threads=threads)

    def run_litert() -> None:
        for d in details:
            interp.set_tensor(d["index"], feeds[d["name"]])
        interp.invoke()

    def run_ours() -> None:
        sess.run(None, feeds)

    for _ in range(warmup):
        run_litert()
        run_ours()
    times: dict[str, list[float]] = {"gossamer": [], "litert": []}
    for _ in range(runs):
        for engine, fn in (("gossamer", run_ours), ("litert", run_litert)):
            t0 = time.perf_counter()
            fn()
            times[engine].append((time.perf_counter() - t0) * 1e3)
    row = {"model": name, "threads": threads, **_graph_facts(sess)}
    for engine, ts in times.items():
        row[engine] = {"p50": float(np.percentile(ts, 50)), "p90": float(np.percentile(ts, 90))}
    row["ratio"] = row["gossamer"]["p50"] / row["litert"]["p50"]
    return row


def report(rows: list[dict], runs: int) -> str:
    cpu = platform.processor() or platform.machine()
    out = [
        "# TFLite models: Gossamer (cython) vs LiteRT (XNNPACK)",
        "",
        f"benchmarks/tflite_vs_litert.py, {time.strftime('%Y-%m-%d')}, {cpu}, "
        f"{os.cpu_count()} cores, {runs} interleaved runs per engine after warm-up; random "
        "inputs (uniform [-1, 1]; oww_melspectrogram fed [1, 1280]). Ratio = Gossamer p50 / "
        "LiteRT p50 (below 1: Gossamer faster).",
        "",
        "| model | threads | Gossamer p50 (p90) ms | LiteRT p50 (p90) ms | ratio | nodes -O3 | "
        "Transposes | nodes per backend | on the reference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['model']} | {r['threads']} | {r['error']} | | | | | | |")
            continue
        g, lt = r["gossamer"], r["litert"]
        out.append(
            f"| {r['model']} | {r['threads']} | {g['p50']:.2f} ({g['p90']:.2f}) | "
            f"{lt['p50']:.2f} ({lt['p90']:.2f}) | {r['ratio']:.2f}x | {r['nodes']} | "
            f"{r['transposes']} | {r['backends']} | {r['reference_ops']} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--out", default=str(HERE / "results" / "tflite_vs_litert"))
    args = ap.parse_args()
    rows = []
    for name in args.models.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            if not (MODELS / f"{name}.tflite").exists():
                rows.append({"model": name, "threads": threads, "error": "not cached"})
                continue
            try:
                rows.append(bench(name, threads, args.runs, args.warmup))
            except Exception as err:  # a model Gossamer cannot load yet: say why, go on
                why = f"{type(err).__name__}: {str(err).splitlines()[0]}"
                rows.append({"model": name, "threads": threads, "error": why})
            print(json.dumps(rows[-1]), flush=True)
    Path(args.out + ".json").write_text(json.dumps(rows, indent=1) + "\n")
    Path(args.out + ".md").write_text(report(rows, args.runs))
    print(report(rows, args.runs))


if __name__ == "__main__":
    main()
