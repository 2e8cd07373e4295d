"""The `gossamer` command line: the parser and `main`.

Each subcommand's work is a `cmd_*` function in gossamer/commands/ (model_io, running, backends,
tools); commands/inputs.py turns --input/--random/--shape into feeds.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .refimpl.errors import GossamerError, InputError
from .refimpl.memory_budget import parse_budget

log = logging.getLogger("gossamer")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    before = os.environ.get("GOSSAMER_MAX_MEMORY")
    if getattr(args, "max_memory", None):  # every session this command loads takes it
        os.environ["GOSSAMER_MAX_MEMORY"] = args.max_memory
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
    finally:  # main() may run inside another program (tests, notebooks): leave its env as it was
        if before is None:
            os.environ.pop("GOSSAMER_MAX_MEMORY", None)
        else:
            os.environ["GOSSAMER_MAX_MEMORY"] = before


def _parser() -> argparse.ArgumentParser:
    from .commands import backends, model_io, running, tools

    parser = argparse.ArgumentParser(
        prog="gossamer",
        description="Gossamer: run, convert and inspect neural-network models (.onnx, .gsm).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("convert", help="convert an ONNX model to a .gsm file")
    p.add_argument("model", help="input model (.onnx or .gsm)")
    p.add_argument("-o", "--output", required=True, help="output .gsm path")
    p.set_defaults(func=model_io.cmd_convert)

    p = sub.add_parser("run", help="run a model and print (or save) its outputs")
    _add_input_options(p)
    p.add_argument("-o", "--output", help="save the outputs to this .npz file")
    p.add_argument("--full", action="store_true", help="print whole arrays, not a summary")
    p.set_defaults(func=running.cmd_run)

    p = sub.add_parser("info", help="inputs, outputs, op histogram, parameters, estimated FLOPs")
    p.add_argument("model")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="fix an input's shape (dynamic dims) for FLOPs and memory")  # fmt: skip
    p.set_defaults(func=running.cmd_info)

    p = sub.add_parser("dump", help="run a model and write every intermediate tensor to a folder")
    _add_input_options(p)
    p.add_argument("-o", "--output", required=True, help="folder for the .npy files and index.json")
    p.set_defaults(func=running.cmd_dump)

    p = sub.add_parser("backends", help="list registered backends, their priority and availability")
    p.set_defaults(func=backends.cmd_backends)

    p = sub.add_parser("explain", help="show which backend runs each node, and why")
    p.add_argument("model")
    _add_backends_option(p)
    p.set_defaults(func=backends.cmd_explain)

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
    p.set_defaults(func=tools.cmd_compare)

    p = sub.add_parser("export", help="write a model (.gsm or .onnx) as a checked ONNX file")
    p.add_argument("model", help="input model (.gsm or .onnx)")
    p.add_argument("-o", "--output", required=True, help="output .onnx path")
    p.set_defaults(func=model_io.cmd_export)

    p = sub.add_parser("view", help="open a model in Netron (.gsm files are exported to ONNX)")
    p.add_argument("model", help="model file (.onnx or .gsm)")
    p.add_argument("--port", type=int, help="port for the Netron server (default: Netron's)")
    p.add_argument("--no-browser", action="store_true", help="serve only; do not open a browser")
    p.set_defaults(func=model_io.cmd_view)

    p = sub.add_parser("optimize", help="run the graph optimiser (-O0..-O3) and write a .gsm file")
    p.add_argument("model", help="input model (.onnx or .gsm)")
    p.add_argument("-o", "--output", required=True, help="output .gsm path")
    p.add_argument("-O", dest="level", type=int, choices=range(4), default=3,
                   help="optimisation level (default 3): -O1 folding and cleanup, -O2 fusions, "
                   "-O3 pattern fusions")  # fmt: skip
    p.add_argument("--passes", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                   help="run exactly these passes, in order, instead of the level's")  # fmt: skip
    p.add_argument("--details", type=int, default=5, help="changes listed per pass (default 5)")
    p.set_defaults(func=model_io.cmd_optimize)

    p = sub.add_parser("conformance", help="check a backend against the reference, op by op")
    from .conformance.cli import add_arguments as _conformance_arguments

    _conformance_arguments(p)
    p.set_defaults(func=backends.cmd_conformance)

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
    p.set_defaults(func=tools.cmd_benchmark)

    p = sub.add_parser("demo", help="build a small network in code, convert it, run it, time it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loops", type=int, default=5, help="timed runs after one warm-up")
    p.set_defaults(func=running.cmd_demo)
    return parser


def _add_backends_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backends", type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
                   help="comma-separated backends to use (default: GOSSAMER_BACKENDS, else all "
                   "available); the reference always takes what they decline")  # fmt: skip
    p.add_argument("--max-memory", type=_budget, metavar="SIZE",
                   help="refuse a model or run whose tensors, arena or work buffers would "
                   "take more than SIZE (e.g. 4G; default GOSSAMER_MAX_MEMORY, else 3/4 of "
                   "RAM)")  # fmt: skip


def _budget(text: str) -> str:
    try:
        parse_budget(text, "--max-memory")
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


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


if __name__ == "__main__":
    sys.exit(main())
