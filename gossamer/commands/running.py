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
from . import backend_options
from .inputs import (
    check_shapes,
    concrete_shapes,
    describe_dims,
    describe_feed,
    feeds_with_sources,
    hint_shapes,
    parse_shapes,
    shape_hint,
    symbolic_inputs,
)
from .model_io import check_output_path


def cmd_run(args: argparse.Namespace) -> int:
    if args.output:
        check_output_path(args.output, "-o", suffixes={".npz": "numpy archive"})
    sess = load(
        args.model, backends=args.backends, optimize=args.optimize, precision=args.precision,
        backend_options=backend_options(args),
    )  # fmt: skip
    feeds, sources = feeds_with_sources(sess, args)
    for name, value in feeds.items():  # what went in, so a run can be repeated or questioned
        how = sources[name] if sources[name].startswith("random") else f"from {sources[name]}"
        print(f"# input {name}: {describe_feed(value)} {how}")
    start = time.perf_counter()
    outputs = sess.run(None, feeds)
    elapsed = time.perf_counter() - start
    names = [v.name for v in sess.outputs]
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
    from ..layout_planning import describe_layout
    from ..refimpl.model_stats import format_stats, model_stats

    sess = load(args.model, optimize=args.optimize)
    shapes = parse_shapes(args.shape)
    check_shapes(shapes, sess.inputs)
    fixed = concrete_shapes(sess.inputs, shapes)
    print(f"model: {args.model}  (graph {sess.graph.name!r}, opsets {sess.graph.opsets})")
    for title, values in (("inputs", sess.inputs), ("outputs", sess.outputs)):
        print(f"{title}:")
        for v in values:
            shape = (
                f"  (as {list(fixed[v.name])})"
                if v.name in fixed and v.shape != fixed[v.name]
                else ""
            )
            print(f"  {v.name}: {v.describe()}{shape}")
    if sess.graph.state:
        print("state (kept between runs; Session.reset_state restores the initial values):")
        for line in _state_lines(sess):
            print(f"  {line}")
    stats = model_stats(sess.graph, input_shapes=fixed or None)
    print(format_stats(stats))
    layout = describe_layout(sess.graph)
    if layout:
        print(f"layout: {layout}")
    symbolic = symbolic_inputs(sess.inputs, shapes)
    if symbolic:
        hints = hint_shapes(symbolic)
        unknown = stats.nodes_without_flops
        if all(h is not None for h in hints.values()):  # how many nodes fixing the dims reveals
            hinted = concrete_shapes(sess.inputs, {**shapes, **hints})  # type: ignore[dict-item]
            unknown -= model_stats(sess.graph, input_shapes=hinted).nodes_without_flops
        if unknown:
            print(
                f"\nFLOPs and memory are unknown for the {unknown} node(s) whose shapes depend "
                f"on the symbolic dims {describe_dims(symbolic)} (of input(s) "
                f"{', '.join(symbolic)}); to count them, fix the dims: {shape_hint(hints)}"
            )
    return 0


def _state_lines(sess: Any) -> list[str]:
    """One line per state: its type, initial value, and the graph input/output carrying it."""
    specs = {v.name: v for v in sess.graph.inputs} | {v.name: v for v in sess.graph.outputs}
    lines = []
    for b in sess.graph.state:
        spec = specs.get(b.input or b.output or "")
        kind = spec.describe() if spec is not None else "?"
        start = (
            "no initial value"
            if b.initial is None
            else f"initial {b.initial.dtype}{list(b.initial.shape)}"
            + (" zeros" if not np.any(b.initial) else "")
        )
        ends = f"read as {b.input!r}" if b.input else "never read"
        ends += f", written as {b.output!r}" if b.output else ", never written"
        lines.append(f"{b.name}: {kind}, {start}; {ends}")
    return lines


def cmd_dump(args: argparse.Namespace) -> int:
    """Writes the tensors and index.json, then prints one line per tensor (node, op, backend,
    dtype[shape], statistics) and where the first NaN or inf appeared."""
    from ..refimpl.tensor_dump import TensorDumper, format_index
    from ..tools.node_backend import NodeBackends
    from .inputs import feeds_with_sources
    from .tools import input_sources

    sess = load(
        args.model, backends=args.backends, optimize=args.optimize, precision=args.precision,
        backend_options=backend_options(args),
    )  # fmt: skip
    feeds, sources = feeds_with_sources(sess, args)
    dumper = TensorDumper(args.output, backend_of=NodeBackends(sess))
    dumper.dump_feeds(feeds, input_sources(sess, args, feeds, sources))
    sess.run(None, feeds, observers=[dumper])
    print(format_index(dumper.entries))
    files = sum(len(e["outputs"]) for e in dumper.entries)
    print(
        f"wrote {files} tensors from {len(dumper.entries) - 1} nodes to {args.output}/ "
        "(index.json lists them in execution order, with these statistics)"
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
