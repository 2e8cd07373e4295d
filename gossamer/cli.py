"""The `gossamer` command line: the parser and `main`.

Each subcommand's work is a `cmd_*` function in gossamer/commands/ (model_io, running, backends,
tools); commands/inputs.py turns --input/--random/--shape into feeds (commands/images.py reads
images for --input). Exit status: 0 done, 1 ran but a check failed, 2 error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from . import __version__
from .refimpl.cropped_build import missing_feature_error
from .refimpl.errors import GossamerError, InputError
from .refimpl.memory_budget import parse_budget

log = logging.getLogger("gossamer")


def main(argv: list[str] | None = None) -> int:
    """Runs one command. Exit status: 0 done; 1 it ran but its check failed (compare,
    conformance, benchmark --golden); 2 an error (one line on stderr, no traceback; -v adds it);
    130 interrupted."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's parser, with its usage, not by the top-level one
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    verbose = bool(getattr(args, "verbose", False))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    before = os.environ.get("GOSSAMER_MAX_MEMORY")
    if getattr(args, "max_memory", None):  # every session this command loads takes it
        os.environ["GOSSAMER_MAX_MEMORY"] = args.max_memory
    command = f"gossamer {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(_show_warning, command)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gossamer info m.onnx | head`: the reader left; say nothing
        try:  # Python flushes stdout at exit, which would fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except (GossamerError, OSError, ImportError, MemoryError) as err:
        log.debug("%s failed", command, exc_info=True)
        _print_error(command, _error_text(err))
        return 2
    except Exception as err:  # a bug: still one line, and the traceback with -v
        log.debug("%s failed", command, exc_info=True)
        _print_error(
            command,
            f"internal error: {type(err).__name__}: {err} (a bug in Gossamer: rerun with -v for "
            "the traceback and report it)",
        )
        return 2
    finally:  # main() may run inside another program (tests, notebooks): leave its env as it was
        if before is None:
            os.environ.pop("GOSSAMER_MAX_MEMORY", None)
        else:
            os.environ["GOSSAMER_MAX_MEMORY"] = before


def _error_text(err: BaseException) -> str:
    """The user's view of an error: OSErrors without their errno prefix."""
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        text = f"{err.strerror}: {err.filename}"
        return text + (f" -> {err.filename2}" if err.filename2 is not None else "")
    if isinstance(err, MemoryError) and not str(err):
        return "out of memory (try --max-memory to refuse such a run up front, or a smaller input)"
    if isinstance(err, ModuleNotFoundError) and (err.name or "").startswith("gossamer."):
        cropped = missing_feature_error(f"{err.name} (this command needs it)", recrop=False)
        if cropped is not None:  # a cropped build left it out
            return str(cropped)
    return str(err).strip() or type(err).__name__


def _left_out(p: argparse.ArgumentParser, feature: str) -> None:
    """A command whose parts a cropped build left out: it takes anything and says so."""
    error = missing_feature_error(feature, recrop=False) or ImportError(f"{feature} is missing")

    def say(*_: Any) -> Any:
        raise error

    p.set_defaults(func=say)
    p.error = lambda _: p.exit(2, f"gossamer {p.prog.split()[-1]}: error: {error}\n")  # type: ignore[method-assign]


def _print_error(command: str, text: str) -> None:
    """One line, then (for errors that list details) up to 7 indented detail lines."""
    lines = text.splitlines() or [text]
    print(f"{command}: error: {lines[0]}", file=sys.stderr)
    for line in lines[1:8]:
        print(f"  {line.strip()}", file=sys.stderr)


def _show_warning(command: str, message: Warning | str, *_: Any, **__: Any) -> None:
    """warnings.showwarning for the terminal: one line, without the source line."""
    print(f"{command}: warning: {message}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    commands: Mapping[str, argparse.ArgumentParser] = {}  # each command's own parser, by name


def _parser() -> _Parser:
    from .commands import backends, model_io, running, tools

    parser = _Parser(
        prog="gossamer",
        description="Gossamer: run, convert and inspect neural-network models (.onnx, .gsm, "
        ".tflite).",
        epilog="Exit status: 0 done, 1 ran but a check failed (compare, conformance, benchmark "
        "--golden), 2 error, 130 interrupted.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"gossamer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("convert", help="convert a model (.onnx, .gsm, .tflite) to .onnx or .gsm "
                       "(the -o extension names the format)")  # fmt: skip
    p.add_argument("model", help="input model (.onnx, .gsm or .tflite)")
    p.add_argument("-o", "--output", required=True, help=OUTPUT_MODEL_HELP)
    _add_optimize_option(p)
    _add_pack_option(p)
    p.set_defaults(func=model_io.cmd_convert)

    p = sub.add_parser("run", help="run a model and print (or save) its outputs")
    _add_input_options(p)
    _add_optimize_option(p)
    p.add_argument("-o", "--output", help="save the outputs to this .npz file")
    p.add_argument("--full", action="store_true", help="print whole arrays, not a summary")
    p.set_defaults(func=running.cmd_run)

    p = sub.add_parser("info", help="inputs, outputs, op histogram, parameters, estimated FLOPs")
    p.add_argument("model", help="model file (.onnx, .gsm or .tflite)")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="fix an input's symbolic dims for FLOPs and memory (repeatable; a dim "
                   "name fixed here is fixed in every input that uses it)")  # fmt: skip
    _add_optimize_option(p)
    p.set_defaults(func=running.cmd_info)

    p = sub.add_parser("dump", help="run a model, write every intermediate tensor to a folder "
                       "and print per-tensor statistics and the backend of each node")  # fmt: skip
    _add_input_options(p)
    _add_optimize_option(p, default=0)  # a debugging tool: every node as written
    p.add_argument("-o", "--output", required=True,
                   help="folder for the .npy files and index.json (per node: op, backend; per "
                   "tensor: file, dtype, shape, min/max/mean/std, NaN/inf counts)")  # fmt: skip
    p.set_defaults(func=running.cmd_dump)

    p = sub.add_parser("backends", help="list registered backends, their priority and availability")
    p.set_defaults(func=backends.cmd_backends)

    p = sub.add_parser("explain", help="show which backend runs each node, and why; the share "
                       "of nodes and estimated FLOPs that fall back to the reference")  # fmt: skip
    p.add_argument("model", help="model file (.onnx, .gsm or .tflite)")
    _add_backends_option(p)
    _add_optimize_option(p)
    p.add_argument("--summary", action="store_true",
                   help="one row per op type and backend (nodes, share of the estimated FLOPs, "
                   "why other backends declined) instead of one per node")  # fmt: skip
    p.add_argument("--op", action="append", default=[], metavar="TYPE",
                   help="show only nodes of this op type (repeatable; an op of a custom domain "
                   "also as DOMAIN::TYPE, as `gossamer info` names it)")  # fmt: skip
    p.add_argument("--backend", dest="only_backends", action="append", default=[],
                   metavar="NAME", help="show only nodes that run on NAME (repeatable); "
                   "--backends chooses which backends take part")  # fmt: skip
    p.add_argument("--fallback", action="store_true",
                   help="show only nodes on the reference although another backend took "
                   "part (and declined them)")  # fmt: skip
    p.set_defaults(func=backends.cmd_explain)

    p = sub.add_parser("ops", help="every operator Gossamer runs: per backend the versions and "
                       "dtypes it implements (like onnxruntime's OperatorKernels.md)")  # fmt: skip
    p.add_argument("--backend", dest="only_backends", action="append", default=[],
                   metavar="NAME", help="list only these backends (repeatable, or "
                   "NAME,NAME)")  # fmt: skip
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON instead of a table")
    form.add_argument("--markdown", action="store_true",
                      help="print a Markdown page (what docs/ops.md holds)")  # fmt: skip
    p.set_defaults(func=backends.cmd_ops)

    p = sub.add_parser(
        "compare",
        help="compare every intermediate tensor of a backend run with the reference (or "
        "onnxruntime, or LiteRT); name the first divergent node. Exit 0: agree, 1: diverge, "
        "2: error",
    )
    _add_input_options(p)
    p.add_argument("--backend", dest="backends", type=lambda s: [s.strip()],
                   help="the one backend to check (same as --backends NAME)")  # fmt: skip
    p.add_argument("--against", choices=["reference", "onnxruntime", "litert"],
                   default="reference", help="the trusted side (default: the reference alone; "
                   "litert: LiteRT, for .tflite models)")  # fmt: skip
    p.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance (default 1e-3); "
                   "an element mismatches when |a - b| > max(atol, rtol * median|b|) + "
                   "rtol * |b|")  # fmt: skip
    p.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance (default 1e-4)")
    _add_optimize_option(p, default=0)  # a debugging tool: every node as written
    p.add_argument("--top", type=int, default=10, help="rows in the worst-nodes table")
    p.add_argument("-o", "--output", help="repro folder (default ./<model>.compare/)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", metavar="FILE", help="chart the error of every node along the "
                   "execution order, first divergence marked (.png, .svg or .pdf; needs "
                   "matplotlib, the `plot` extra)")  # fmt: skip
    p.set_defaults(func=tools.cmd_compare)

    p = sub.add_parser("export", help="write a model's graph as written (no optimisation) to a "
                       "checked ONNX file (-o ending in .gsm: .gsm, .tflite: TFLite)")  # fmt: skip
    p.add_argument("model", help="input model (.gsm, .onnx or .tflite)")
    p.add_argument("-o", "--output", required=True, help=OUTPUT_MODEL_HELP)
    p.add_argument("--format", choices=["onnx", "gsm", "tflite"],
                   help="format to write (default: the -o extension's)")  # fmt: skip
    p.add_argument("--nhwc-io", action="store_true",
                   help="tflite: 4-D inputs/outputs NHWC (default: the model's)")  # fmt: skip
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="tflite: fix an input's dynamic dims (repeatable)")  # fmt: skip
    p.set_defaults(func=model_io.cmd_export)

    p = sub.add_parser("view", help="open a model in Netron (.gsm files are exported to ONNX)")
    p.add_argument("model", help="model file (.onnx, .gsm or .tflite)")
    p.add_argument("--port", type=_port, help="port for the Netron server (default: Netron's)")
    p.add_argument("--no-browser", action="store_true",
                   help="serve only, printing the address to open; no browser")  # fmt: skip
    p.set_defaults(func=model_io.cmd_view)

    p = sub.add_parser("optimize", help="run the graph optimiser (-O0..-O3) and write the model "
                       "(.gsm or .onnx, by the -o extension)")  # fmt: skip
    p.add_argument("model", help="input model (.onnx, .gsm or .tflite)")
    p.add_argument("-o", "--output", required=True, help=OUTPUT_MODEL_HELP)
    _add_optimize_option(p, default=3)
    p.add_argument("--passes", type=_pass_list, metavar="PASS,...",
                   help="run exactly these passes, in order, instead of the level's")  # fmt: skip
    p.add_argument("--details", type=_count, default=5,
                   help="changes listed per pass (default 5)")  # fmt: skip
    _add_pack_option(p)
    p.set_defaults(func=model_io.cmd_optimize)

    p = sub.add_parser("conformance", help="check a backend against the reference, op by op")
    try:
        from .conformance.cli import add_arguments as _conformance_arguments
    except ModuleNotFoundError:  # a cropped build (gossamer crop) ships no conformance suite
        _left_out(p, "gossamer conformance (the conformance suite)")
    else:
        _conformance_arguments(p)
        p.set_defaults(func=backends.cmd_conformance)

    p = sub.add_parser("benchmark", help="time a model: cold and warm latency (mean, std, "
                       "percentiles), load time, memory, a per-node and per-op-type profile, "
                       "a trace, a chart, a golden-output check")  # fmt: skip
    _add_input_options(p)
    _add_optimize_option(p)
    p.add_argument("--threads", type=int, help="threads for the kernels (default: all cores)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed runs first, the cold one among them (default 3)")  # fmt: skip
    p.add_argument("--loops", type=int, default=10, help="timed runs (default 10)")
    p.add_argument("--profile", action="store_true",
                   help="per-node and per-op-type tables (avg ms, %% of total, calls)")  # fmt: skip
    p.add_argument("--top", type=int, metavar="N",
                   help="only the N slowest rows of each profile table (implies "
                   "--profile)")  # fmt: skip
    p.add_argument("--trace", metavar="OUT.json",
                   help="also write a Chrome/Perfetto trace of --trace-runs extra runs, observed "
                   "node by node (open in ui.perfetto.dev or chrome://tracing)")  # fmt: skip
    p.add_argument("--trace-runs", type=int, default=3, metavar="N",
                   help="runs recorded by --trace (default 3)")  # fmt: skip
    p.add_argument("--plot", metavar="OUT.png",
                   help="bar chart of time per op type and backend (.png, .svg or .pdf; needs "
                   "matplotlib: pip install 'gossamer[plot]'; implies --profile)")  # fmt: skip
    p.add_argument("--golden", metavar="FILE.npz",
                   help="compare outputs with this file (written if it is missing)")  # fmt: skip
    p.add_argument("--threshold", default="1.0", metavar="PCT",
                   help="largest mean relative error in %% for --golden (default 1.0)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=tools.cmd_benchmark)

    p = sub.add_parser("quantize", help="post-training quantisation: static int8 with "
                       "calibration, dynamic int8, weight-only N-bit or fp16; writes .onnx or "
                       ".gsm and a per-layer report")  # fmt: skip
    from .commands import quantize as _quantize

    _quantize.add_arguments(p)
    p.set_defaults(func=_quantize.cmd_quantize)

    p = sub.add_parser("compile", help="compile a model for a backend's target and write the "
                       "file it runs (--backends ethos-u: the Vela-compiled .tflite)")  # fmt: skip
    from .commands import compile as _compile

    _compile.add_arguments(p)
    p.set_defaults(func=_compile.cmd_compile)

    p = sub.add_parser("crop", help="build the minimal install (a staged tree, a wheel) that runs "
                       "exactly these models, with a size report")  # fmt: skip
    from .commands import crop as _crop

    _crop.add_arguments(p)
    p.set_defaults(func=_crop.cmd_crop)

    p = sub.add_parser("train", help="train or fine-tune a model on .npz data (losses, SGD/Adam, "
                       "frozen layers, checkpoints); writes .onnx or .gsm")  # fmt: skip
    from .commands import train as _train

    _train.add_arguments(p)
    p.set_defaults(func=_train.cmd_train)

    p = sub.add_parser("tune", help="search the work sizes of a backend's kernels for a model "
                       "on this device and keep the best (e.g. --backends opencl)")  # fmt: skip
    _add_input_options(p)
    from .commands import tune as _tune

    _tune.add_arguments(p)
    p.set_defaults(func=_tune.cmd_tune)

    p = sub.add_parser("demo", help="build a small network in code, convert it, run it, time it")
    p.add_argument("--seed", type=_count, default=0, help="seed of the weights and the image")
    p.add_argument("--loops", type=_positive, default=5, help="timed runs after one warm-up")
    p.set_defaults(func=running.cmd_demo)

    parser.commands = sub.choices  # main's errors name the command
    for p in sub.choices.values():  # -v after the command too: `gossamer run -v m.onnx`
        try:
            p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                           help="log debug messages (and the traceback of an error)")  # fmt: skip
        except argparse.ArgumentError:
            pass  # the command has its own -v
    return parser


OUTPUT_MODEL_HELP = "output model; its extension names the format: .gsm (Gossamer) or .onnx"


def _add_optimize_option(p: argparse.ArgumentParser, default: int | None = None) -> None:
    """-O LEVEL (args.optimize): the graph optimiser's level, by default load()'s."""
    from .session import DEFAULT_OPTIMIZE

    level = DEFAULT_OPTIMIZE if default is None else default
    p.add_argument("-O", "--optimize", dest="optimize", type=int, choices=range(4), default=level,
                   metavar="LEVEL", help=f"graph optimisation level 0..3 (default {level}): "
                   "0 the graph as written, 1 folding and cleanup, 2 fusions, 3 pattern "
                   "fusions")  # fmt: skip


def _add_pack_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pack", metavar="BACKEND", choices=["cython"],
                   help="store BACKEND's packed weights in the .gsm (packed once here, for this "
                   "machine's SIMD level; another level repacks at load): cython")  # fmt: skip
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="with --pack: an input's shape for the packing run, where its dims are "
                   "symbolic (repeatable)")  # fmt: skip


def _pass_list(text: str) -> list[str]:
    from .converter.optimizer import PASSES

    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in PASSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown pass(es) {', '.join(unknown) or '(none given)'}; known: "
            + ", ".join(sorted(PASSES))
        )
    return names


def _positive(text: str) -> int:
    return _int_at_least(text, 1)


def _count(text: str) -> int:
    return _int_at_least(text, 0)


def _port(text: str) -> int:
    port = _int_at_least(text, 0)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, got {text}")
    return port


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
    return value


def _add_backends_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backends", type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
                   help="comma-separated backends to use (default: GOSSAMER_BACKENDS, else all "
                   "available); the reference always takes what they decline")  # fmt: skip
    p.add_argument("--backend-option", dest="backend_options", action="append", default=[],
                   type=_backend_option, metavar="BACKEND.OPTION=VALUE",
                   help="an option for a backend of this session (repeatable), e.g. "
                   "opencl.device=0:0 or opencl.precision=fp16; each backend declares the "
                   "options it takes (an unknown one is an error that lists them)")  # fmt: skip
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="what convolutions and matrix products compute in (default fp32); bf16: "
                   "bfloat16 with float32 accumulation where the CPU has AVX512_BF16, else fp32 "
                   "with a warning")  # fmt: skip
    p.add_argument("--max-memory", type=_budget, metavar="SIZE",
                   help="refuse a model or run whose tensors, arena or work buffers would "
                   "take more than SIZE (e.g. 4G; default GOSSAMER_MAX_MEMORY, else 3/4 of "
                   "RAM)")  # fmt: skip


def _backend_option(text: str) -> tuple[str, str, str]:
    backend, _, rest = text.partition(".")
    option, eq, value = rest.partition("=")
    if not backend.strip() or not option.strip() or not eq:
        raise argparse.ArgumentTypeError(
            f"expected BACKEND.OPTION=VALUE (e.g. opencl.device=0:0), got {text!r}"
        )
    return backend.strip(), option.strip(), value.strip()


def _budget(text: str) -> str:
    try:
        parse_budget(text, "--max-memory")
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _add_input_options(p: argparse.ArgumentParser) -> None:
    from .commands.images import PREPROCESS_HELP
    from .commands.inputs import INPUT_HELP

    p.add_argument("model", help="model file (.onnx, .gsm or .tflite)")
    _add_backends_option(p)
    p.add_argument(
        "-i",
        "--input",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help=INPUT_HELP,
    )
    p.add_argument(
        "--random",
        action="store_true",
        help="feed seeded random values to every input not given with --input",
    )
    p.add_argument("--seed", type=_count, default=0, help="seed for --random (default 0)")
    p.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="concrete shape for an input with symbolic dims (for --random, and the size images "
        "are resized to); a dim name it fixes is fixed in every input that uses it. Default for "
        "--random: 1 on axis 0, 64 elsewhere",
    )
    p.add_argument("--preprocess", metavar="KEY=VALUE,...", help=PREPROCESS_HELP)


if __name__ == "__main__":
    sys.exit(main())
