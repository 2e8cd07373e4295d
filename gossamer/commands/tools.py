"""Commands that front gossamer.tools: compare (divergence against a trusted side) and benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.errors import GossamerError, InputError
from ..session import Session, load
from . import backend_options
from .inputs import feeds_from_args, parse_shapes


def cmd_compare(args: argparse.Namespace) -> int:
    """Exit status as cmp(1): 0 every value agrees, 1 a divergence was found, 2 an error. Inputs not
    given with --input get seeded random values (--random is implied)."""
    from ..tools.first_divergence import compare_model, comparison_json

    try:
        if args.plot:  # before any run: a missing matplotlib or a bad suffix should not wait
            from ..tools.plots import check_plot_path

            check_plot_path(args.plot)
        sess = load(
            args.model, backends=args.backends, optimize=args.optimize, precision=args.precision,
            backend_options=backend_options(args),
        )  # fmt: skip
        args.random = True
        feeds = feeds_from_args(sess, args)
        out = args.output or f"{Path(args.model).stem}.compare"
        result = compare_model(args.model, feeds, against=args.against, rtol=args.rtol,
                               atol=args.atol, repro_dir=out, session=sess)  # fmt: skip
        if args.plot:
            from ..tools.compare_plot import plot_comparison

            plot_comparison(args.plot, result)
    except (GossamerError, FileNotFoundError, ImportError, OSError, ValueError) as err:
        message = str(err).strip().splitlines() or [type(err).__name__]
        print(f"gossamer compare: error: {message[0]}", file=sys.stderr)
        return 2
    print(comparison_json(result, args.top) if args.json else result.format(args.top))
    if args.plot and not args.json:
        print(f"\nplot: error per node written to {args.plot}")
    return 0 if result.agrees else 1


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Exit 1 when a --golden comparison exceeds the threshold. Inputs not given with --input get
    seeded random values (--random is implied). --top and --plot imply --profile."""
    from ..tools.benchmark import benchmark_session, load_timed, trace_session
    from ..tools.benchmark_report import format_report, plot_profile, report_dict, report_json
    from ..tools.golden import check_golden
    from ..tools.plots import check_plot_path
    from .inputs import feeds_with_sources

    try:
        threshold = float(args.threshold)
    except ValueError:
        threshold = float("nan")
    if not (threshold >= 0 and threshold != float("inf")):
        raise InputError(f"--threshold must be a percentage >= 0, got {args.threshold!r}")
    if args.loops < 1 or args.warmup < 0:
        raise InputError(f"need --loops >= 1 and --warmup >= 0, got {args.loops}, {args.warmup}")
    if args.top is not None and args.top < 1:
        raise InputError(f"--top must be at least 1, got {args.top}")
    if args.trace_runs < 1:
        raise InputError(f"--trace-runs must be at least 1, got {args.trace_runs}")
    if args.plot:  # before any run: a missing matplotlib or a bad suffix should not wait
        check_plot_path(args.plot)
    if args.trace and not Path(args.trace).resolve().parent.is_dir():
        raise InputError(f"--trace {args.trace}: the folder {str(Path(args.trace).parent)!r} "
                         "does not exist")  # fmt: skip
    sess, load_times = load_timed(args.model, backends=args.backends, threads=args.threads,
                                  optimize=args.optimize,
                                  backend_options=backend_options(args))  # fmt: skip
    args.random = True
    feeds, sources = feeds_with_sources(sess, args)
    estimates = sess.partition_estimates  # e.g. Vela's NPU time per ethos-u partition
    result = benchmark_session(
        sess, feeds, load=load_times, model=str(args.model), warmup=args.warmup, loops=args.loops,
        profile=args.profile or args.top is not None or bool(args.plot) or bool(estimates),
        sources=input_sources(sess, args, feeds, sources), optimize=args.optimize,
    )  # fmt: skip
    if args.trace:
        result.trace = trace_session(sess, feeds, args.trace_runs, args.trace)
    if args.plot:
        result.plot = plot_profile(result, args.plot, top=args.top)
    golden = None
    if args.golden:
        golden = check_golden(args.golden, result.output_names, result.outputs, threshold)
    if args.json and estimates:  # the backend's per-partition estimates join the JSON report
        import json

        from .partition_estimates import estimate_records

        data = report_dict(result, golden)
        data["partition_estimates"] = estimate_records(estimates, result.nodes)
        print(json.dumps(data, indent=1))
    elif args.json:
        print(report_json(result, golden))
    else:
        print(format_report(result, golden, top=args.top))
    if estimates and not args.json:
        from .partition_estimates import estimate_table

        print(estimate_table(estimates, result.nodes, args.loops))
    return 0 if golden is None or golden.passed else 1


def input_sources(
    sess: Session, args: argparse.Namespace, feeds: dict[str, Any], sources: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Where each feed came from, for reports: {"kind": "file", "from": what was read} or
    {"kind": "random", "seed": N, "shape_from": "--shape" or "model", "symbolic": {dim: size}}
    (the sizes --random chose for the model's symbolic dims)."""
    shapes = parse_shapes(args.shape)
    declared = {v.name: v for v in sess.inputs}
    out: dict[str, dict[str, Any]] = {}
    for name, text in sources.items():
        if text != f"random (seed {args.seed})":
            out[name] = {"kind": "file", "from": text}
            continue
        dims = declared[name].shape or ()
        symbolic = {
            (d if isinstance(d, str) else f"axis {i}"): int(n)
            for i, (d, n) in enumerate(zip(dims, np.shape(feeds[name])))
            if not isinstance(d, int)
        }
        out[name] = {"kind": "random", "seed": args.seed, "symbolic": symbolic,
                     "shape_from": "--shape" if name in shapes else "model"}  # fmt: skip
    return out
