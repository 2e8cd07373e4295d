"""MiniLM dynamic int8 (quantize_dynamic, benchmarks/int8_kernels.py's model) per op type:
Gossamer node by node (`Session.run(timings=...)`, median per op type over the runs) against
onnxruntime's own per-node kernel times (`SessionOptions.enable_profiling`), plus each engine's
whole-run wall time (Gossamer's ordinary run replays segments) and the steps that run outside
segments (segments.split_reasons). Not a test: nothing is asserted.

    python benchmarks/int8_dynamic_profile.py --threads 2 --runs 30
    python benchmarks/int8_dynamic_profile.py --threads 2 --runs 200 --real minilm_l6_int8
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from int8_kernels import CACHE, feeds  # noqa: E402


def _wall(run, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(5):
        run()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def gossamer_profile(path: str, inputs: dict, threads: int, runs: int) -> None:
    from gossamer.cython_kernels import segments

    import gossamer

    sess = gossamer.load(path, backends=["cython"], threads=threads)
    walls = _wall(lambda: sess.run(None, inputs), runs)
    nodes = sess._program.nodes
    op_of = {n.name: (f"{n.domain}::" if n.domain not in ("", "ai.onnx") else "") + n.op_type
             for n in nodes}  # fmt: skip
    per: dict[str, list[float]] = collections.defaultdict(list)
    for _ in range(runs):
        timings: dict[str, float] = {}
        sess.run(None, inputs, timings=timings)
        total: collections.Counter = collections.Counter()
        for name, sec in timings.items():
            total[op_of.get(name, name)] += sec * 1e3
        for op, ms in total.items():
            per[op].append(ms)
    count = collections.Counter(op_of.values())
    print(f"gossamer {threads} thread(s): wall median {statistics.median(walls):.2f} ms, "
          f"min {min(walls):.2f} ms")  # fmt: skip
    rows = sorted(((statistics.median(v), op) for op, v in per.items()), reverse=True)
    print(f"  node by node, sum of per-op medians {sum(ms for ms, _ in rows):.2f} ms")
    for ms, op in rows:
        print(f"  | {op} | {count[op]} | {ms:.3f} |")
    splits = segments.split_reasons(sess._program)
    segs = [s for _, _, s, _ in sess._program.schedule or () if s is not None]
    print(f"  {len(segs)} segment(s) over {len(nodes)} steps; outside segments: {len(splits)}")
    for why, n in collections.Counter(splits.values()).most_common(10):
        print(f"    {n} x {why}")


def ort_profile(path: str, inputs: dict, threads: int, runs: int) -> None:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    plain = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    walls = _wall(lambda: plain.run(None, inputs), runs)
    opts.enable_profiling = True
    opts.profile_file_prefix = str(Path(tempfile.mkdtemp()) / f"ort_profile_{threads}")
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    _wall(lambda: sess.run(None, inputs), runs)
    trace = sess.end_profiling()
    per: dict[str, float] = collections.defaultdict(float)
    count: collections.Counter = collections.Counter()
    for e in json.loads(Path(trace).read_text()):
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per[e["args"]["op_name"]] += e["dur"] / 1e3
            count[e["args"]["op_name"]] += 1
    os.remove(trace)
    total = runs + 5
    kernels = sum(per.values()) / total
    print(f"onnxruntime {threads} thread(s): wall median {statistics.median(walls):.2f} ms, "
          f"min {min(walls):.2f} ms; kernels {kernels:.2f} ms per run")  # fmt: skip
    for op, ms in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  | {op} | {count[op] // total} | {ms / total:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--engines", default="gossamer,onnxruntime")
    p.add_argument("--real", help="a shared real model instead (bench_models.py's name and feeds)")
    args = p.parse_args()
    if args.real:  # gossamer runs the -O3 .gsm the side-by-side benchmarks run
        from bench_models import prepare

        spec = prepare(args.real, ["gossamer-cython"], 3, None).spec
        path, gsm = spec["onnx"], spec["gsm"]
        inputs = dict(np.load(spec["feeds"]))
    else:
        path = gsm = str(CACHE / "minilm_int8.onnx")
        inputs = feeds(onnx.load(path), 0)
    print(f"load average {os.getloadavg()}")
    if "gossamer" in args.engines:
        gossamer_profile(gsm, inputs, args.threads, args.runs)
    if "onnxruntime" in args.engines:
        ort_profile(path, inputs, args.threads, args.runs)


if __name__ == "__main__":
    main()
