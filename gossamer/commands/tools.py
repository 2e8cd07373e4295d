"""Commands that front gossamer.tools: compare (divergence against a trusted side) and benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..refimpl.errors import GossamerError, InputError
from ..session import load
from .inputs import feeds_from_args


def cmd_compare(args: argparse.Namespace) -> int:
    """Exit status as cmp(1): 0 every value agrees, 1 a divergence was found, 2 an error. Inputs not
    given with --input get seeded random values (--random is implied)."""
    from ..tools.first_divergence import compare_model, comparison_json

    try:
        sess = load(args.model, backends=args.backends)
        args.random = True
        feeds = feeds_from_args(sess, args)
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
    from ..tools.benchmark import (
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
    feeds = feeds_from_args(sess, args)
    result = benchmark_session(
        sess, feeds, load=load_times, model=str(args.model), warmup=args.warmup, loops=args.loops,
        profile=args.profile,
    )  # fmt: skip
    golden = None
    if args.golden:
        golden = check_golden(args.golden, result.output_names, result.outputs, threshold)
    print(report_json(result, golden) if args.json else format_report(result, golden))
    return 0 if golden is None or golden.passed else 1
