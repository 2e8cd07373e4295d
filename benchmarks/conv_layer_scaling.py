"""Per conv layer at 1 and 2 threads, gossamer against onnxruntime, each engine in its own process
(onnxruntime's spinning pool slows whatever runs after it in one process): how each layer scales
from 1 to 2 threads in both engines.

    .venv/bin/python benchmarks/conv_layer_scaling.py --model resnet18 --reps 30

Gossamer's layer times come from an observer (so they include ~5 us of Python dispatch per node,
and a node inside a C segment is not seen); onnxruntime's from its profiler's kernel times. The
whole-run times come from runs without a profiler or observer (onnxruntime's profiler adds
0.35-0.4 ms to a SqueezeNet run: Session 24). Layers are matched by their logical input shape
(a blocked NCHW8c input as NCHW) and weight shape, and their order among equal keys; a fused
NchwcConvMaxPool counts as its conv. Each cell
is the layer's minimum over the reps (what a quiet moment gives: the machine is shared; the load
is printed). Models come from the benchmark cache (bench_models.py prepares them).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

CONVS = ("Conv", "FusedConv", "NchwcConv", "NchwcConvMaxPool")


def _logical(shape) -> list:
    """An NCHW8c shape [n, c / 8, h, w, 8] as [n, c, h, w]; other shapes as they are."""
    shape = list(shape)
    return [shape[0], shape[1] * shape[4], *shape[2:4]] if len(shape) == 5 else shape


def _key(x, w) -> str:
    """A layer's key: its logical input shape and its weight shape with the output channels
    rounded up to 16 (onnxruntime's NCHWc convs pad them: SqueezeNet's 1000 classes run as 1008)."""
    return json.dumps([_logical(x), [-(-w[0] // 16) * 16, *w[1:]]])


def worker(engine: str, model: str, threads: int, reps: int) -> dict:
    """One engine's whole-run and per-layer minimums (run in a process of its own)."""
    from bf16_speed import feeds_of, spec_of
    from fp32_conv_layers import _Marks

    spec = spec_of(model)
    feeds = feeds_of(spec)
    rows: list = []
    whole: list[float] = []
    per: dict[str, list[float]] = collections.defaultdict(list)
    keys: dict[str, str] = {}
    pools: dict[str, list[float]] = collections.defaultdict(list)  # a MaxPool right after a conv
    if engine == "gossamer":
        import gossamer

        sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads)
        for _ in range(3):
            sess.run(None, feeds)
        for _ in range(reps):
            t0 = time.perf_counter()
            sess.run(None, feeds)
            whole.append(time.perf_counter() - t0)
            marks = _Marks()
            sess.run(None, feeds, observers=[marks])
            for node, shapes, _yshape, us in marks.spans:
                if node.op_type in CONVS:
                    per[node.name].append(us)
                    keys[node.name] = _key(shapes[0], shapes[1])
                    if node.op_type == "NchwcConvMaxPool":
                        pools[node.name] = [0.0]  # its pool is in its time
    else:
        import onnxruntime as ort
        from fp32_node_profile import ort_profiling_session

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        plain = ort.InferenceSession(spec["onnx"], so, providers=["CPUExecutionProvider"])
        for _ in range(3):
            plain.run(None, feeds)
        for _ in range(reps):
            t0 = time.perf_counter()
            plain.run(None, feeds)
            whole.append(time.perf_counter() - t0)
        del plain
        sess = ort_profiling_session(spec["onnx"], threads, "conv_layer_scaling_ort")
        for _ in range(3 + reps):
            sess.run(None, feeds)
        trace = Path(sess.end_profiling())
        events = json.loads(trace.read_text())
        trace.unlink()
        conv = None  # the conv run just before (execution order)
        for e in events:
            if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
                continue
            op = e["args"].get("op_name")
            if op == "MaxPool" and conv is not None:
                pools[conv].append(float(e["dur"]))
            conv = None
            if op not in CONVS:
                continue
            name = conv = e["name"][: -len("_kernel_time")]
            per[name].append(float(e["dur"]))
            ins = [next(iter(s.values())) for s in e["args"]["input_type_shape"]]
            keys[name] = _key(ins[0], ins[1])
        per = {k: v[-reps:] for k, v in per.items()}  # the timed runs (warm-ups first)
    rows = [(name, keys[name], min(v), min(pools[name]) if pools[name] else None)
            for name, v in per.items()]  # fmt: skip
    return {"whole_min": min(whole) * 1e3, "whole_median": statistics.median(whole) * 1e3,
            "rows": rows, "load": os.getloadavg()[0]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--worker", nargs=3, metavar=("ENGINE", "MODEL", "THREADS"),
                    help=argparse.SUPPRESS)  # fmt: skip
    args = ap.parse_args()
    if args.worker:
        engine, model, threads = args.worker
        print(json.dumps(worker(engine, model, int(threads), args.reps)))
        return
    runs = {}
    for threads in (1, 2):
        for engine in ("gossamer", "onnxruntime"):
            out = subprocess.run([sys.executable, __file__, "--reps", str(args.reps), "--worker",
                                  engine, args.model, str(threads)],
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            runs[(engine, threads)] = json.loads(out.strip().splitlines()[-1])
    for (engine, threads), r in runs.items():
        print(f"{engine} {threads} thread(s): whole run min {r['whole_min']:.2f} ms, median "
              f"{r['whole_median']:.2f} ms, load {r['load']:.2f}")  # fmt: skip
    queues = {}
    for k, r in runs.items():
        q = collections.defaultdict(list)
        for _name, key, us, pool in r["rows"]:
            q[key].append((us, pool))
        queues[k] = q
    seen: collections.Counter = collections.Counter()
    print(
        "\n| layer | x | w | ours 1t | ours 2t | scaling | ort 1t | ort 2t | scaling | "
        "ours/ort 1t | ours/ort 2t |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    tot = [0.0] * 4
    for name, k, _, fused in runs[("gossamer", 1)]["rows"]:
        i = seen[k]
        seen[k] += 1
        v = []
        for run in (("gossamer", 1), ("gossamer", 2), ("onnxruntime", 1), ("onnxruntime", 2)):
            q = queues[run].get(k, [])
            us, pool = q[i] if i < len(q) else (float("nan"), None)
            v.append(us + (pool or 0.0 if fused is not None else 0.0))  # a fused pool: both
        tot = [a + b for a, b in zip(tot, v)]
        key = json.loads(k)
        print(f"| {name} | {key[0][1:]} | {key[1]} | {v[0]:.0f} | {v[1]:.0f} | "
              f"{v[0] / v[1]:.2f} | {v[2]:.0f} | {v[3]:.0f} | {v[2] / v[3]:.2f} | "
              f"{v[0] / v[2]:.2f} | {v[1] / v[3]:.2f} |")  # fmt: skip
    print(f"| all convs | | | {tot[0]:.0f} | {tot[1]:.0f} | {tot[0] / tot[1]:.2f} | {tot[2]:.0f} "
          f"| {tot[3]:.0f} | {tot[2] / tot[3]:.2f} | {tot[0] / tot[2]:.2f} | "
          f"{tot[1] / tot[3]:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
