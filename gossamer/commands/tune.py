"""`gossamer tune MODEL --backends opencl [--budget SECONDS]`: searches the local work size of
every kernel launch of the model's compiled partitions on this device, keeps the best in the
backend's tuning table (used by every later session), and prints the latency before and after.

A compiled partition is tunable when it has a `tune(budget_seconds)` method (the OpenCL backend's
have); other backends' partitions and kernels are left as they are.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..refimpl.errors import InputError
from ..session import load
from . import backend_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="time the search may take in all (default 60)")  # fmt: skip
    p.add_argument("--runs", type=int, default=5, metavar="N",
                   help="timed runs before and after tuning (default 5)")  # fmt: skip


def cmd_tune(args: argparse.Namespace) -> int:
    from .inputs import feeds_from_args

    if not args.budget > 0:
        raise InputError(f"--budget must be a positive number of seconds, got {args.budget}")
    args.random = True  # inputs not given with --input get seeded random values
    sess = load(args.model, backends=args.backends, backend_options=backend_options(args))
    feeds = feeds_from_args(sess, args)
    tunable = _tunable(sess)
    if not tunable:
        raise InputError(
            f"{args.model}: no compiled partition here can be tuned (backends used: "
            f"{sorted(set(sess.placement.backend_of.values()))}); name a tunable backend, "
            "e.g. --backends opencl"
        )
    before = _latency(sess, feeds, args.runs)  # also builds every plan the feeds need
    changed = 0
    for name, part in tunable.items():
        found = part.tune(args.budget / len(tunable))
        changed += sum(1 for old, new in found.values() if old != new)
        print(f"{name}: {len(found)} launch(es) tuned")
    after = _latency(sess, feeds, args.runs)
    print(
        f"latency: {before * 1e3:.2f} ms before, {after * 1e3:.2f} ms after "
        f"({before / after:.2f}x); {changed} work size(s) changed and kept for this device"
    )
    return 0


def _tunable(sess: Any) -> dict[str, Any]:
    # the compiled partitions of the session's program (name -> callable)
    overrides = sess._program.overrides  # noqa: SLF001 - the one place that needs them
    return {
        name: o.impl for name, o in overrides.items() if o.partition and hasattr(o.impl, "tune")
    }


def _latency(sess: Any, feeds: dict[str, Any], runs: int) -> float:
    sess.run(None, feeds)  # warm-up
    best = float("inf")
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        sess.run(None, feeds)
        best = min(best, time.perf_counter() - start)
    return best
