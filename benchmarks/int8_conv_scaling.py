"""How each int8 layer scales from 1 to 2 threads: Gossamer cython against onnxruntime, node by
node, in one process (int8_kernels.py's QOperator models).

Four sessions (each engine at 1 and at 2 threads) run in turn, round by round, so the VM's slow and
fast moments fall on all four alike. Gossamer's per-node times come from an observer (node by
node, each node carrying its Python dispatch, a few microseconds), onnxruntime's from its
profiler ("Node" events' kernel time, the "_token_N" suffixes of its layout pass dropped); after
each onnxruntime run the script sleeps a few milliseconds so that its spinning workers do not
take a core from the next run. Per node: the
minimum and median over --reps runs at each thread count, and each engine's speed-up 1 -> 2
threads; the table lists the convolutions (and, with --all, every node) with the largest
2-thread time over onnxruntime's first. Not a test.

    .venv/bin/python benchmarks/int8_conv_scaling.py --model resnet18 --reps 40
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import int8_kernels as ik  # noqa: E402
from int8_node_profile import _Marks  # noqa: E402


def _shapes(int8: Path) -> dict[str, str]:
    """'Cout x Cin*kh*kw @ HxW' per QLinearConv node (output pixels from shape inference)."""
    import onnx

    m = onnx.shape_inference.infer_shapes(onnx.load(str(int8)))
    init = {t.name: tuple(t.dims) for t in m.graph.initializer}
    vshape = {
        v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
        for v in list(m.graph.value_info) + list(m.graph.output)
    }
    out: dict[str, str] = {}
    for n in m.graph.node:
        if n.op_type not in ("QLinearConv", "ConvInteger"):
            continue
        w = init.get(n.input[3] if n.op_type == "QLinearConv" else n.input[1])
        y = vshape.get(n.output[0], ())
        if w and len(w) == 4:
            hw = f"{y[2]}x{y[3]}" if len(y) == 4 else "?"
            out[n.name] = f"{w[0]}x{w[1] * w[2] * w[3]} k{w[2]} @{hw}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18", choices=list(ik.MODELS))
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--all", action="store_true", help="every node, not only convolutions")
    ap.add_argument("--sleep-ms", type=float, default=5.0)
    args = ap.parse_args()
    import onnx
    import onnxruntime as ort

    import gossamer

    fp32, int8 = ik.quantised(args.model)
    feeds = ik.feeds(onnx.load(str(fp32)))
    shapes = _shapes(int8)
    load0 = os.getloadavg()[0]
    ours_s = {t: gossamer.load(str(int8), backends=["cython"], threads=t) for t in (1, 2)}
    prof_dir = tempfile.mkdtemp(prefix="int8_conv_scaling_")
    theirs_s = {}
    for t in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = t, 1
        opts.enable_profiling = True
        opts.profile_file_prefix = os.path.join(prof_dir, f"ort{t}")
        theirs_s[t] = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"])
    for _ in range(5):
        for t in (1, 2):
            ours_s[t].run(None, feeds)
            theirs_s[t].run(None, feeds)
    ours: dict[int, dict[str, list[float]]] = {t: collections.defaultdict(list) for t in (1, 2)}
    whole: dict[tuple[str, int], list[float]] = collections.defaultdict(list)
    op_of: dict[str, str] = {}
    for _ in range(args.reps):
        for t in (1, 2):
            t0 = time.perf_counter()
            ours_s[t].run(None, feeds)
            whole["gossamer", t].append((time.perf_counter() - t0) * 1e3)
            marks = _Marks()
            ours_s[t].run(None, feeds, observers=[marks])
            for name, op, us in marks.spans:
                ours[t][name].append(us)
                op_of[name] = op
            t0 = time.perf_counter()
            theirs_s[t].run(None, feeds)
            whole["onnxruntime", t].append((time.perf_counter() - t0) * 1e3)
            time.sleep(args.sleep_ms / 1e3)
    theirs: dict[int, dict[str, list[float]]] = {t: collections.defaultdict(list) for t in (1, 2)}
    for t in (1, 2):
        for e in json.loads(Path(theirs_s[t].end_profiling()).read_text()):
            if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
                name = re.sub(r"_token_\d+$", "", e["name"][: -len("_kernel_time")])
                theirs[t][name].append(float(e["dur"]))
                op_of.setdefault(name, e.get("args", {}).get("op_name", "?"))
        for v in theirs[t].values():
            del v[:5]  # the warm-up runs
    print(f"{args.model} int8, 1 vs 2 threads interleaved, {args.reps} rounds, load {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print("\n| engine | threads | whole run median ms | min ms |\n|---|---|---|---|")
    for (engine, t), v in sorted(whole.items()):
        print(f"| {engine} | {t} | {statistics.median(v):.2f} | {min(v):.2f} |")

    def stat(d: dict[str, list[float]], n: str) -> tuple[float, float]:
        v = d.get(n)
        return (min(v), statistics.median(v)) if v else (float("nan"), float("nan"))

    names = [n for n in ours[1] if n in theirs[1] and (args.all or n in shapes)]
    by_op: dict[str, list[float]] = collections.defaultdict(lambda: [0.0] * 4)
    for n in names:
        row = by_op[op_of[n]]
        row[0] += stat(ours[1], n)[1]
        row[1] += stat(ours[2], n)[1]
        row[2] += stat(theirs[1], n)[1]
        row[3] += stat(theirs[2], n)[1]
    print("\nsums of per-node medians (us)\n| op | ours 1t | ours 2t | ours x | ort 1t | ort 2t | "
          "ort x | 2t ours/ort |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for op, (a1, a2, b1, b2) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        print(f"| {op} | {a1:.0f} | {a2:.0f} | {a1 / a2:.2f} | {b1:.0f} | {b2:.0f} | "
              f"{b1 / b2:.2f} | {a2 / b2:.2f} |")  # fmt: skip
    print(f"\nper node, min / median us, largest 2-thread loss first (top {args.top})")
    print("| node | shape | ours 1t | ours 2t | ours x (med) | ort 1t | ort 2t | ort x (med) "
          "| 2t ours - ort us |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for n in sorted(names, key=lambda n: stat(theirs[2], n)[1] - stat(ours[2], n)[1])[: args.top]:
        a1, a2 = stat(ours[1], n), stat(ours[2], n)
        b1, b2 = stat(theirs[1], n), stat(theirs[2], n)
        print(f"| {n} | {shapes.get(n, op_of[n])} | {a1[0]:.0f} / {a1[1]:.0f} | {a2[0]:.0f} / "
              f"{a2[1]:.0f} | {a1[1] / a2[1]:.2f} | {b1[0]:.0f} / {b1[1]:.0f} | {b2[0]:.0f} / "
              f"{b2[1]:.0f} | {b1[1] / b2[1]:.2f} | {a2[1] - b2[1]:+.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
