"""Commands that load and run a model: run, info, dump, and the self-contained demo."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..session import load
from .inputs import feeds_from_args, parse_shapes


def cmd_run(args: argparse.Namespace) -> int:
    sess = load(args.model, backends=args.backends)
    feeds = feeds_from_args(sess, args)
    start = time.perf_counter()
    outputs = sess.run(None, feeds)
    elapsed = time.perf_counter() - start
    names = [v.name for v in sess.graph.outputs]
    for name, value in zip(names, outputs):
        print(_format_value(name, value, args.full))
    used = ", ".join(f"{b} {n}" for b, n in sess.placement.summary().items())
    print(f"# {len(sess.graph.nodes)} nodes in {elapsed * 1000:.1f} ms ({used})")
    if args.output:
        arrays = {
            n: (v.astype(str) if isinstance(v, np.ndarray) and v.dtype == object else v)
            for n, v in zip(names, outputs)
            if isinstance(v, np.ndarray)
        }
        np.savez(args.output, **arrays)
        print(f"# saved {len(arrays)} output(s) to {args.output}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..refimpl.model_stats import format_stats, model_stats

    sess = load(args.model)
    print(f"model: {args.model}  (graph {sess.graph.name!r}, opsets {sess.graph.opsets})")
    for title, values in (("inputs", sess.inputs), ("outputs", sess.outputs)):
        print(f"{title}:")
        for v in values:
            print(f"  {v.name}: {v.describe()}")
    shapes = parse_shapes(args.shape)
    print(format_stats(model_stats(sess.graph, input_shapes=shapes or None)))
    dynamic = [
        v.name
        for v in sess.inputs
        if v.shape is None or not all(isinstance(d, int) for d in v.shape)
    ]
    if dynamic and not shapes:
        print(f"(inputs {dynamic} are dynamic: give --shape NAME=D0,D1,... for FLOPs and memory)")
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    from ..refimpl.tensor_dump import TensorDumper

    sess = load(args.model, backends=args.backends)
    feeds = feeds_from_args(sess, args)
    dumper = TensorDumper(args.output)
    dumper.dump_feeds(feeds)
    sess.run(None, feeds, observers=[dumper])
    files = sum(len(e["outputs"]) for e in dumper.entries)
    print(
        f"wrote {files} tensors from {len(dumper.entries) - 1} nodes to {args.output}/ "
        "(index.json lists them in execution order)"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..builtin_models import tiny_cnn
    from ..converter.onnx_import import graph_from_onnx
    from ..refimpl.model_format import save_gsm

    model = tiny_cnn(seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny_cnn.gsm"
        save_gsm(graph_from_onnx(model), path)
        print(
            f"built tiny_cnn in code (seed {args.seed}), converted ONNX -> {path.name} "
            f"({path.stat().st_size:,} bytes)"
        )
        sess = load(path)
        image = np.random.default_rng(args.seed).random((1, 3, 64, 64), dtype=np.float32)
        timings: dict[str, float] = {}
        (probs,) = sess.run(None, {"image": image})
        for _ in range(args.loops):
            (probs,) = sess.run(None, {"image": image}, timings=timings)
        print("probabilities:", np.array2string(probs[0], precision=4, suppress_small=True))
        print(f"top class: {int(probs[0].argmax())} (p = {probs[0].max():.4f})")
        _print_oracle_check(model, image, probs)
        by_op: dict[tuple[str, str], float] = defaultdict(float)
        ops = {n.name: n.op_type for n in sess.graph.nodes}
        for node_name, seconds in timings.items():
            key = (ops[node_name], sess.placement.backend_of.get(node_name, "?"))
            by_op[key] += seconds / max(1, args.loops)
        total = sum(by_op.values())
        used = ", ".join(f"{b}: {n} nodes" for b, n in sess.placement.summary().items())
        runs = f"mean of {args.loops} runs"
        print(f"top-5 op timings ({runs}; {used}; total {total * 1000:.2f} ms):")
        for (op, backend), seconds in sorted(by_op.items(), key=lambda kv: -kv[1])[:5]:
            share = 100 * seconds / total
            print(f"  {op:<20s} {backend:<10s} {seconds * 1000:8.3f} ms  {share:5.1f} %")
    return 0


def _print_oracle_check(model: Any, image: np.ndarray, probs: np.ndarray) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        return
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = ref.run(None, {"image": image})
    print(f"onnxruntime agrees: max |diff| = {float(np.abs(expected - probs).max()):.2e}")


def _format_value(name: str, value: Any, full: bool) -> str:
    if not isinstance(value, np.ndarray):
        return f"{name}: {type(value).__name__} {value!r}"[:2000]
    head = f"{name}: {value.dtype}{list(value.shape)}"
    if value.dtype.kind in "fc" and value.size:
        as32 = value.astype(np.float64)
        head += f"  min {np.nanmin(as32):.6g} max {np.nanmax(as32):.6g} mean {np.nanmean(as32):.6g}"
    opts = {"threshold": sys.maxsize} if full else {"threshold": 20, "edgeitems": 3}
    return head + "\n" + np.array2string(value, precision=6, **opts)
