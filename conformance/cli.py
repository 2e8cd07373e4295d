"""`gossamer conformance --backend NAME [--quick | --thorough] [--seed N] [--ops Conv,Relu]
[--max-examples N] [--report out.md|out.json|out.html|out.png ...]`: runs the suite, prints the
op x dtype matrix, exits 1 on unexpected failures (FAIL, ERROR, XPASS) and 0 otherwise.

    python -m gossamer.conformance.cli --backend reference
"""

from __future__ import annotations

import argparse
import sys
import time

from .report import check_report_path, failures_text, matrix_table, write_report
from .runner import UNEXPECTED, CellResult
from .suite import PRESETS, run_suite, stale_xfails
from .summary import summary_line


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", required=True, help="the backend under test (see gossamer backends)"
    )
    p.add_argument(
        "--report",
        action="append",
        default=[],
        help="write the matrix and failures to this file: .md, .json, .html (a colour grid) or "
        ".png (needs matplotlib); repeatable",
    )
    p.add_argument(
        "--ops",
        type=_op_list,
        help="only these ops or case ids (comma-separated), e.g. Conv,Softmax:opset11",
    )
    speed = p.add_mutually_exclusive_group()
    speed.add_argument(
        "--quick",
        dest="preset",
        action="store_const",
        const="quick",
        help=f"{PRESETS['quick'].max_examples} drawn example per cell; every edge on a case's "
        "first dtype, one on each other dtype",
    )
    speed.add_argument(
        "--thorough",
        dest="preset",
        action="store_const",
        const="thorough",
        help=f"{PRESETS['thorough'].max_examples} drawn examples per cell, every edge on every "
        "dtype",
    )
    p.set_defaults(preset="default")
    p.add_argument(
        "--max-examples",
        type=_count,
        help="drawn (hypothesis) examples per (case, dtype) cell, besides the fixed edge and "
        f"extreme-value examples (default {PRESETS['default'].max_examples})",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the drawn examples (default 0: every run draws the same examples)",
    )
    p.add_argument("--no-shrink", action="store_true", help="report failures without shrinking")
    p.add_argument("--repro", action="store_true", help="print the repro script of every failure")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")


def _op_list(text: str) -> list[str]:
    ops = [o.strip() for o in text.split(",") if o.strip()]
    if not ops:
        raise argparse.ArgumentTypeError("give at least one op or case id, e.g. Conv,Relu")
    return ops


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Runs the suite for parsed arguments; prints; returns the exit status."""
    for path in args.report:  # a report that cannot be written fails now, not after the run
        check_report_path(path)
    start = time.perf_counter()
    done = [0]

    def progress(cell: CellResult) -> None:
        done[0] += 1
        if not args.quiet and sys.stderr.isatty():
            print(f"\r{done[0]} cells ({cell.case_id})".ljust(60), end="", file=sys.stderr)

    results = run_suite(args.backend, ops=args.ops, max_examples=args.max_examples,
                        shrink=not args.no_shrink, seed=args.seed, preset=args.preset,
                        progress=progress)  # fmt: skip
    seconds = time.perf_counter() - start
    if not args.quiet and sys.stderr.isatty():
        print("\r".ljust(60) + "\r", end="", file=sys.stderr)
    if not args.quiet:
        print(matrix_table(results))
        print()
    failures = failures_text(results, repro=args.repro)
    if failures:
        print(failures)
        print()
    if not args.ops:
        for key in stale_xfails(args.backend, results):
            print(f"warning: xfails/{args.backend}.txt entry {key!r} matches no cell")
    print(f"backend {args.backend}: " + summary_line(results, seconds))
    for path in args.report:
        write_report(results, path, args.backend, seconds)
        print(f"report written to {path}")
    return 1 if any(r.status in UNEXPECTED for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gossamer conformance", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
