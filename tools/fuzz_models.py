"""A structure-aware model fuzzer: mutated ONNX and .gsm models, each loaded and run in a forked,
memory-capped child with a timeout.

The contract it checks: for any model file, `gossamer.load(model)` then `sess.run(None, feeds)`
(feeds matching `sess.inputs`) succeeds or raises a `GossamerError`. Findings are untyped
exceptions, crashes (a signal), hangs (the timeout), MemoryErrors, and typed errors wrapping a
MemoryError; each is deduplicated by signature (class + innermost repository frame). The exit code
is 1 when there is any finding. Backends: the library's default (GOSSAMER_BACKENDS applies).

    python tools/fuzz_models.py --cases 2000 -j 2 --json out.json --save-repros /tmp/fuzz_findings
    python tools/fuzz_models.py --seed 0 --case 123          # re-run one case in-process, verbosely

Layout: tools/fuzz/ (seeds, onnx_mutators, gsm_mutators, case, runner, report).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gossamer.tools.fuzz.case import build_case, classify, execute, mutator_names, write_case
from gossamer.tools.fuzz.report import Report
from gossamer.tools.fuzz.runner import FINDINGS, Job, Result, run_jobs
from gossamer.tools.fuzz.seeds import Seed, build_seeds


def case_job(
    seeds: list[Seed],
    seed: int,
    index: int,
    allowed: set[str] | None,
    trace: bool = False,
    run_timeout: float | None = None,
) -> Job:
    """The job a child runs for case `index`: build it, report what was done, load and run it
    (with `trace`, reporting each node before it runs)."""

    def job(send: Callable[[dict], None]) -> dict | None:
        try:
            built = build_case(seeds, seed, index, allowed)
            path = write_case(built, Path.cwd())
        except Exception as err:  # the fuzzer's own failure, not the library's
            return {"klass": "fuzzer-error", "error": f"{type(err).__name__}: {err}"}
        send(
            {
                "type": "prep",
                "seed": built.seed,
                "fmt": built.fmt,
                "mutations": built.mutations,
                "from_bytes": built.from_bytes,
            }
        )
        return execute(built, path, index, send, trace, run_timeout)

    return job


def prewarm() -> None:
    """Imports in the parent what every child would import again (backends, all ops), so forks
    start warm. Nothing runs: no kernel thread pool exists when the parent forks."""
    from gossamer.plugins import manager

    for backend in manager.all_backends().values():
        backend.is_available()
    manager.op_registry().functions()


def locate(
    r: Result, seeds: list[Seed], args: argparse.Namespace, allowed: set[str] | None, base: Path
) -> Result:
    """A crash or hang that left no Python frame (e.g. in a kernel's worker thread) is run again
    with every node reported before it runs; the last one names the op in the signature."""
    job = case_job(seeds, args.seed, r.key, allowed, trace=True, run_timeout=args.run_timeout)
    again = next(
        run_jobs(
            [(r.key, job)], timeout=args.timeout, mem_bytes=int(args.mem_gb * 2**30), base=base
        )
    )
    shutil.rmtree(again.workdir, ignore_errors=True)
    where = "outer_" if r.klass == "hang" else ""
    op = again.info.get(f"{where}op")
    if again.klass == r.klass and again.stage == r.stage and op:
        r.signature += f":{op}"
        r.info["node"] = again.info.get(f"{where}node")
    return r


def debug_case(
    seeds: list[Seed], seed: int, index: int, allowed: set[str] | None, run_timeout: float | None
) -> int:
    """Builds and runs one case in this process (no fork, no caps) and prints everything."""
    built = build_case(seeds, seed, index, allowed)
    print(f"case {index} seed {seed}: {built.fmt} seed model {built.seed!r}")
    for m in built.mutations:
        print(f"  {m}")
    with tempfile.TemporaryDirectory() as folder:
        path = write_case(built, Path(folder))
        try:
            result = execute(built, path, index, run_timeout=run_timeout)
        except BaseException as err:
            result = classify(err)
            print(result.pop("traceback"))
    print(result)
    return 1 if result["klass"] in FINDINGS else 0


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit code (1 when there is any finding)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cases", type=int, default=1000, help="number of cases (default 1000)")
    p.add_argument("--start", type=int, default=0, help="first case index (default 0)")
    p.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="children in parallel (default 1)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case (default 20)")
    p.add_argument("--mem-gb", type=float, default=4.0, help="RLIMIT_AS per child (default 4)")
    p.add_argument("--run-timeout", type=float,
                   help="Session.run(timeout=) for each run (default: a quarter of --timeout; "
                   "0: none, so a model that loops for ever is a hang)")  # fmt: skip
    p.add_argument("--case", type=int, help="re-run one case in-process, without fork")
    p.add_argument("--formats", default="onnx,gsm", help="comma list of onnx,gsm")
    p.add_argument("--mutators", help="comma list of mutators to use (default all)")
    p.add_argument("--list-mutators", action="store_true", help="print mutator names and exit")
    p.add_argument("--no-real-models", action="store_true", help="only the models built in code")
    p.add_argument("--json", type=Path, help="write counts, findings and every case here")
    p.add_argument("--save-repros", type=Path, help="write case_N.onnx/.gsm + case_N.py here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    args = p.parse_args(argv)
    if args.run_timeout is None:
        args.run_timeout = args.timeout / 4
    args.run_timeout = args.run_timeout or None

    if args.list_mutators:
        for fmt, names in mutator_names().items():
            print(f"{fmt}: {', '.join(names)}")
        return 0
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    allowed = set(args.mutators.split(",")) if args.mutators else None
    known = {m for names in mutator_names().values() for m in names}
    if allowed and allowed - known:
        p.error(f"unknown mutators {sorted(allowed - known)}; known: {sorted(known)}")
    seeds = build_seeds(real_models=not args.no_real_models, formats=formats)
    if args.case is not None:
        return debug_case(seeds, args.seed, args.case, allowed, args.run_timeout)

    prewarm()
    flags = "".join(
        f" {flag} {value}"
        for flag, value, default in [("--formats", args.formats, "onnx,gsm"),
                                     ("--mutators", args.mutators, None)]
        if value != default
    ) + (" --no-real-models" if args.no_real_models else "")  # fmt: skip
    report = Report(args.seed, flags)
    base = Path(tempfile.mkdtemp(prefix="gossamer-fuzz-"))
    indices = range(args.start, args.start + args.cases)
    jobs = (
        (i, case_job(seeds, args.seed, i, allowed, run_timeout=args.run_timeout)) for i in indices
    )
    started = last = time.monotonic()
    try:
        for r in run_jobs(
            jobs,
            workers=args.jobs,
            timeout=args.timeout,
            mem_bytes=int(args.mem_gb * 2**30),
            base=base,
        ):
            if r.klass in ("crash", "hang") and not r.frame:
                r = locate(r, seeds, args, allowed, base)
            if not report.add(r):
                shutil.rmtree(r.workdir, ignore_errors=True)
            now = time.monotonic()
            if not args.quiet and (now - last > 5 or len(report.cases) == args.cases):
                last = now
                done = len(report.cases)
                counts = " ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
                print(
                    f"[fuzz] {done}/{args.cases} cases, {done / (now - started):.1f}/s: {counts}",
                    file=sys.stderr,
                    flush=True,
                )
        report.seconds = time.monotonic() - started
        if args.json:
            args.json.write_text(json.dumps(report.to_json(vars(args)), indent=1, default=str))
        repros = report.save_repros(args.save_repros) if args.save_repros else []
        report.print(sys.stdout)
        for path in repros:
            print(f"repro: {path}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if report.n_findings else 0


if __name__ == "__main__":
    sys.exit(main())
