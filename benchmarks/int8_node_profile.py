"""Where an int8 model's time goes, node by node: Gossamer cython against onnxruntime on the same
quantised ONNX (int8_kernels.py's models, QOperator format).

Gossamer's per-node times come from an observer (a run with observers runs node by node, so each
node also carries its Python dispatch, a few microseconds); onnxruntime's from its own profiler
(SessionOptions.enable_profiling, the "Node" events' kernel time). Medians over --reps runs per
node, nodes matched by name; the table lists the nodes where Gossamer loses the most time first,
and the totals per op type. Whole runs (median, no observer / no profiler) are timed in the same
process, the engines alternating run by run. Not a test.

    .venv/bin/python benchmarks/int8_node_profile.py --model resnet18 --threads 1 --reps 30
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

sys.path.insert(0, str(Path(__file__).parent))
import int8_kernels as ik  # noqa: E402


class _Marks:
    def __init__(self) -> None:
        self.spans: list[tuple[str, str, float]] = []
        self._t0 = 0

    def before_node(self, node, inputs) -> None:  # type: ignore[no-untyped-def]
        self._t0 = time.perf_counter_ns()

    def after_node(self, node, inputs, outputs) -> None:  # type: ignore[no-untyped-def]
        self.spans.append((node.name, node.op_type, (time.perf_counter_ns() - self._t0) / 1e3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18", choices=list(ik.MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    import onnx
    import onnxruntime as ort

    import gossamer

    fp32, int8 = ik.quantised(args.model)
    feeds = ik.feeds(onnx.load(str(fp32)))
    load0 = os.getloadavg()[0]
    sess = gossamer.load(str(int8), backends=["cython"], threads=args.threads)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = args.threads, 1
    plain = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"])
    prof_dir = tempfile.mkdtemp(prefix="int8_node_profile_")
    opts.enable_profiling = True
    opts.profile_file_prefix = os.path.join(prof_dir, "ort")
    profiled = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"])
    for _ in range(5):
        sess.run(None, feeds)
        plain.run(None, feeds)
        profiled.run(None, feeds)
    whole: dict[str, list[float]] = {"gossamer": [], "onnxruntime": []}
    ours: dict[str, list[float]] = collections.defaultdict(list)
    op_of: dict[str, str] = {}
    for _ in range(args.reps):
        for engine, run in (("gossamer", sess.run), ("onnxruntime", plain.run)):
            t0 = time.perf_counter()
            run(None, feeds)
            whole[engine].append((time.perf_counter() - t0) * 1e3)
        marks = _Marks()
        sess.run(None, feeds, observers=[marks])
        for name, op, us in marks.spans:
            ours[name].append(us)
            op_of[name] = op
        profiled.run(None, feeds)
    theirs: dict[str, list[float]] = collections.defaultdict(list)
    events = json.loads(Path(profiled.end_profiling()).read_text())
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            name = e["name"][: -len("_kernel_time")]
            theirs[name].append(float(e["dur"]))
            op_of.setdefault(name, e.get("args", {}).get("op_name", "?"))
    med_ours = {n: statistics.median(v) for n, v in ours.items()}
    # the profiled session's first 5 runs were warm-ups: keep the last reps
    med_theirs = {n: statistics.median(v[-args.reps :]) for n, v in theirs.items()}
    print(f"{args.model} int8, {args.threads} thread(s), {args.reps} runs, load {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    for engine, v in whole.items():
        print(f"  whole run {engine}: median {statistics.median(v):.2f} ms, min {min(v):.2f} ms")
    print(f"  per-node medians: gossamer {sum(med_ours.values()) / 1e3:.2f} ms ({len(med_ours)} "
          f"nodes), onnxruntime {sum(med_theirs.values()) / 1e3:.2f} ms ({len(med_theirs)} "
          "nodes)")  # fmt: skip
    by_op: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for n, us in med_ours.items():
        by_op[op_of[n]][0] += us
    for n, us in med_theirs.items():
        by_op[op_of.get(n, "?")][1] += us
    print("\n| op | gossamer us | onnxruntime us |\n|---|---|---|")
    for op, (a, b) in sorted(by_op.items(), key=lambda kv: -kv[1][0]):
        print(f"| {op} | {a:.0f} | {b:.0f} |")
    both = [n for n in med_ours if n in med_theirs]
    print(f"\n{len(both)} nodes in both; largest losses (gossamer - onnxruntime):")
    print("| node | op | gossamer us | onnxruntime us | ratio |\n|---|---|---|---|---|")
    for n in sorted(both, key=lambda n: med_theirs[n] - med_ours[n])[: args.top]:
        a, b = med_ours[n], med_theirs[n]
        print(f"| {n} | {op_of[n]} | {a:.0f} | {b:.0f} | {a / b:.2f} |")
    only = sorted(set(med_ours) ^ set(med_theirs))
    if only:
        print(f"\nnodes in one engine only: {', '.join(only[:20])}")


if __name__ == "__main__":
    main()
