"""The `gossamer` command line: convert, run, info, dump, demo."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .refimpl.dtypes import to_numpy
from .refimpl.errors import GossamerError, InputError
from .refimpl.ir import Value
from .session import Session, load, read_model

log = logging.getLogger("gossamer")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (GossamerError, FileNotFoundError, ImportError, OSError) as err:
        message = str(err).strip().splitlines()
        print(
            f"gossamer {args.command}: error: {message[0] if message else type(err).__name__}",
            file=sys.stderr,
        )
        for line in message[1:8]:
            print(f"  {line}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gossamer",
        description="Gossamer: run, convert and inspect neural-network models (.onnx, .gsm).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("convert", help="convert an ONNX model to a .gsm file")
    p.add_argument("model", help="input model (.onnx or .gsm)")
    p.add_argument("-o", "--output", required=True, help="output .gsm path")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("run", help="run a model and print (or save) its outputs")
    _add_input_options(p)
    p.add_argument("-o", "--output", help="save the outputs to this .npz file")
    p.add_argument("--full", action="store_true", help="print whole arrays, not a summary")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("info", help="inputs, outputs, op histogram, parameters, estimated FLOPs")
    p.add_argument("model")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="fix an input's shape (dynamic dims) for FLOPs and memory")  # fmt: skip
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("dump", help="run a model and write every intermediate tensor to a folder")
    _add_input_options(p)
    p.add_argument("-o", "--output", required=True, help="folder for the .npy files and index.json")
    p.set_defaults(func=cmd_dump)

    p = sub.add_parser("backends", help="list registered backends, their priority and availability")
    p.set_defaults(func=cmd_backends)

    p = sub.add_parser("explain", help="show which backend runs each node, and why")
    p.add_argument("model")
    _add_backends_option(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "compare",
        help="compare every intermediate tensor of a backend run with the reference (or "
        "onnxruntime); name the first divergent node. Exit 0: agree, 1: diverge, 2: error",
    )
    _add_input_options(p)
    p.add_argument("--backend", dest="backends", type=lambda s: [s.strip()],
                   help="the one backend to check (same as --backends NAME)")  # fmt: skip
    p.add_argument("--against", choices=["reference", "onnxruntime"], default="reference",
                   help="the trusted side (default: the reference alone)")  # fmt: skip
    p.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance (default 1e-3)")
    p.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance (default 1e-4)")
    p.add_argument("--top", type=int, default=10, help="rows in the worst-nodes table")
    p.add_argument("-o", "--output", help="repro folder (default ./<model>.compare/)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("export", help="write a model (.gsm or .onnx) as a checked ONNX file")
    p.add_argument("model", help="input model (.gsm or .onnx)")
    p.add_argument("-o", "--output", required=True, help="output .onnx path")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("view", help="open a model in Netron (.gsm files are exported to ONNX)")
    p.add_argument("model", help="model file (.onnx or .gsm)")
    p.add_argument("--port", type=int, help="port for the Netron server (default: Netron's)")
    p.add_argument("--no-browser", action="store_true", help="serve only; do not open a browser")
    p.set_defaults(func=cmd_view)

    p = sub.add_parser("optimize", help="run the graph optimiser (-O0..-O3) and write a .gsm file")
    p.add_argument("model", help="input model (.onnx or .gsm)")
    p.add_argument("-o", "--output", required=True, help="output .gsm path")
    p.add_argument("-O", dest="level", type=int, choices=range(4), default=3,
                   help="optimisation level (default 3): -O1 folding and cleanup, -O2 fusions, "
                   "-O3 pattern fusions")  # fmt: skip
    p.add_argument("--passes", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                   help="run exactly these passes, in order, instead of the level's")  # fmt: skip
    p.add_argument("--details", type=int, default=5, help="changes listed per pass (default 5)")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser("conformance", help="check a backend against the reference, op by op")
    from .conformance.cli import add_arguments as _conformance_arguments

    _conformance_arguments(p)
    p.set_defaults(func=cmd_conformance)

    p = sub.add_parser("benchmark", help="time a model: min/median/max latency, load time, "
                       "a per-node and per-op-type profile, a golden-output check")  # fmt: skip
    _add_input_options(p)
    p.add_argument("--threads", type=int, help="threads for the kernels (default: all cores)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    p.add_argument("--loops", type=int, default=10, help="timed runs (default 10)")
    p.add_argument("--profile", action="store_true",
                   help="per-node and per-op-type tables (avg ms, %% of total, calls)")  # fmt: skip
    p.add_argument("--golden", metavar="FILE.npz",
                   help="compare outputs with this file (written if it is missing)")  # fmt: skip
    p.add_argument("--threshold", default="1.0", metavar="PCT",
                   help="largest mean relative error in %% for --golden (default 1.0)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("demo", help="build a small network in code, convert it, run it, time it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loops", type=int, default=5, help="timed runs after one warm-up")
    p.set_defaults(func=cmd_demo)
    return parser


def _add_backends_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backends", type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
                   help="comma-separated backends to use (default: GOSSAMER_BACKENDS, else all "
                   "available); the reference always takes what they decline")  # fmt: skip


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (.onnx or .gsm)")
    _add_backends_option(p)
    p.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE.npy",
        help="feed an input from a .npy file (repeatable)",
    )
    p.add_argument(
        "--random",
        action="store_true",
        help="feed seeded random values to every input not given with --input",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for --random (default 0)")
    p.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="concrete shape for a --random input with symbolic dims",
    )


# ---- commands -----------------------------------------------------------------------------------
def cmd_convert(args: argparse.Namespace) -> int:
    from .refimpl.model_format import save_gsm

    graph = read_model(args.model)
    Session(graph)  # refuse to write a model we cannot run
    save_gsm(graph, args.output)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, {len(graph.nodes)} nodes)")
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    from .plugins.explain import format_backends

    print(format_backends())
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .plugins.explain import format_placement

    sess = load(args.model, backends=args.backends)
    print(format_placement(sess.graph, sess.placement))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Exit status as cmp(1): 0 every value agrees, 1 a divergence was found, 2 an error. Inputs not
    given with --input get seeded random values (--random is implied)."""
    from .tools.compare import compare_model, comparison_json

    try:
        sess = load(args.model, backends=args.backends)
        args.random = True
        feeds = _feeds(sess, args)
        out = args.output or f"{Path(args.model).stem}.compare"
        result = compare_model(args.model, feeds, against=args.against, rtol=args.rtol,
                               atol=args.atol, repro_dir=out, session=sess)  # fmt: skip
    except (GossamerError, FileNotFoundError, ImportError, OSError, ValueError) as err:
        message = str(err).strip().splitlines() or [type(err).__name__]
        print(f"gossamer compare: error: {message[0]}", file=sys.stderr)
        return 2
    print(comparison_json(result, args.top) if args.json else result.format(args.top))
    return 0 if result.agrees else 1


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Exit 1 when a --golden comparison exceeds the threshold. Inputs not given with --input get
    seeded random values (--random is implied)."""
    from .tools.benchmark import (
        benchmark_session,
        check_golden,
        format_report,
        load_timed,
        report_json,
    )

    try:
        threshold = float(args.threshold)
    except ValueError:
        threshold = float("nan")
    if not (threshold >= 0 and threshold != float("inf")):
        raise InputError(f"--threshold must be a percentage >= 0, got {args.threshold!r}")
    if args.loops < 1 or args.warmup < 0:
        raise InputError(f"need --loops >= 1 and --warmup >= 0, got {args.loops}, {args.warmup}")
    sess, load_times = load_timed(args.model, backends=args.backends, threads=args.threads)
    args.random = True
    feeds = _feeds(sess, args)
    result = benchmark_session(
        sess, feeds, load=load_times, model=str(args.model), warmup=args.warmup, loops=args.loops,
        profile=args.profile,
    )  # fmt: skip
    golden = None
    if args.golden:
        golden = check_golden(args.golden, result.output_names, result.outputs, threshold)
    print(report_json(result, golden) if args.json else format_report(result, golden))
    return 0 if golden is None or golden.passed else 1


def cmd_conformance(args: argparse.Namespace) -> int:
    from .conformance.cli import run

    return run(args)


def cmd_run(args: argparse.Namespace) -> int:
    sess = load(args.model, backends=args.backends)
    feeds = _feeds(sess, args)
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
    from .refimpl.model_stats import format_stats, model_stats

    sess = load(args.model)
    print(f"model: {args.model}  (graph {sess.graph.name!r}, opsets {sess.graph.opsets})")
    for title, values in (("inputs", sess.inputs), ("outputs", sess.outputs)):
        print(f"{title}:")
        for v in values:
            print(f"  {v.name}: {v.describe()}")
    shapes = _parse_shapes(args.shape)
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
    from .refimpl.tensor_dump import TensorDumper

    sess = load(args.model, backends=args.backends)
    feeds = _feeds(sess, args)
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
    from .converter.onnx_import import graph_from_onnx
    from .examples import tiny_cnn
    from .refimpl.model_format import save_gsm

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
        by_op: dict[str, float] = defaultdict(float)
        ops = {n.name: n.op_type for n in sess.graph.nodes}
        for node_name, seconds in timings.items():
            by_op[ops[node_name]] += seconds / max(1, args.loops)
        total = sum(by_op.values())
        print(
            f"top-5 op timings (mean of {args.loops} runs, reference interpreter, total "
            f"{total * 1000:.2f} ms):"
        )
        for op, seconds in sorted(by_op.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  {op:<20s} {seconds * 1000:8.3f} ms  {100 * seconds / total:5.1f} %")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    from .converter.optimizer import optimize
    from .refimpl.model_format import save_gsm

    graph, report = optimize(read_model(args.model), args.level, passes=args.passes)
    Session(graph)  # refuse to write a model we cannot run
    save_gsm(graph, args.output)
    print(report.format(details=args.details))
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, {len(graph.nodes)} nodes)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .converter.onnx_export import save_onnx

    graph = read_model(args.model)
    save_onnx(graph, args.output)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size:,} bytes, {len(graph.nodes)} nodes, passes onnx.checker)")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from .refimpl.model_format import MAGIC

    try:
        import netron
    except ImportError:
        raise ImportError("install the view extra: pip install 'gossamer[view]'") from None
    path = Path(args.model)
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    with open(path, "rb") as f:
        is_gsm = f.read(len(MAGIC)) == MAGIC
    with tempfile.TemporaryDirectory() as tmp:
        if is_gsm:  # Netron reads ONNX, so a .gsm is exported first
            from .converter.onnx_export import save_onnx

            onnx_path = Path(tmp) / (path.stem + ".onnx")
            save_onnx(read_model(path), onnx_path)
            path = onnx_path
        address = None if args.port is None else ("localhost", args.port)
        netron.start(str(path), address=address, browse=not args.no_browser)
        wait = getattr(netron, "wait", None)
        if wait is not None:
            wait()  # serve until Ctrl-C; the exported file must outlive the server
    return 0


def _print_oracle_check(model: Any, image: np.ndarray, probs: np.ndarray) -> None:
    try:
        import onnxruntime as ort
    except ImportError:
        return
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = ref.run(None, {"image": image})
    print(f"onnxruntime agrees: max |diff| = {float(np.abs(expected - probs).max()):.2e}")


# ---- helpers ------------------------------------------------------------------------------------
def _feeds(sess: Session, args: argparse.Namespace) -> dict[str, Any]:
    feeds: dict[str, Any] = {}
    known = {v.name: v for v in sess.inputs}
    for item in args.input:
        name, sep, file = item.partition("=")
        if not sep:
            raise InputError(f"--input expects NAME=FILE.npy, got {item!r}")
        if name not in known:
            raise InputError(
                f"--input {name!r}: the model has no such input; inputs: {sorted(known)}"
            )
        feeds[name] = np.load(file, allow_pickle=False)
    shapes = _parse_shapes(args.shape)
    missing = [v for v in sess.inputs if v.name not in feeds]
    if missing and not args.random:
        raise InputError(
            "no value for input(s) "
            + ", ".join(f"{v.name}: {v.describe()}" for v in missing)
            + "; give --input NAME=FILE.npy or --random"
        )
    rng = np.random.default_rng(args.seed)
    for v in missing:
        feeds[v.name] = random_input(v, shapes.get(v.name), rng)
    return feeds


def _parse_shapes(items: list[str]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for item in items:
        name, sep, dims = item.partition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--shape expects NAME=D0,D1,..., got {item!r}")
    return shapes


def random_input(v: Value, shape: tuple[int, ...] | None, rng: np.random.Generator) -> np.ndarray:
    """Seeded random values for an input (integers 0 or 1, floats in [0, 1)): symbolic dims
    become 1 on axis 0 and 64 elsewhere."""
    if v.kind != "tensor" or v.dtype is None:
        raise InputError(f"input {v.name!r} ({v.describe()}) needs an explicit --input")
    if shape is None:
        if v.shape is None:
            raise InputError(f"input {v.name!r} has unknown rank; give --shape {v.name}=D0,D1,...")
        shape = tuple(
            d if isinstance(d, int) else (1 if i == 0 else 64) for i, d in enumerate(v.shape)
        )
    dtype = to_numpy(v.dtype)
    if v.dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 2, size=shape).astype(dtype)  # 0/1: valid ids, masks and segment ids
    if v.dtype == "string":
        return np.array(["x"] * int(np.prod(shape)), dtype=object).reshape(shape)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def _format_value(name: str, value: Any, full: bool) -> str:
    if not isinstance(value, np.ndarray):
        return f"{name}: {type(value).__name__} {value!r}"[:2000]
    head = f"{name}: {value.dtype}{list(value.shape)}"
    if value.dtype.kind in "fc" and value.size:
        as32 = value.astype(np.float64)
        head += f"  min {np.nanmin(as32):.6g} max {np.nanmax(as32):.6g} mean {np.nanmean(as32):.6g}"
    opts = {"threshold": sys.maxsize} if full else {"threshold": 20, "edgeitems": 3}
    return head + "\n" + np.array2string(value, precision=6, **opts)


if __name__ == "__main__":
    sys.exit(main())
