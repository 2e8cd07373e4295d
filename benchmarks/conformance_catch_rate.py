"""Catch rate of `gossamer conformance` on the planted-bug backends (tests/planted_bugs/mutants.py)
over random seeds.

For each mutant and each seed, the cells of the mutant's buggy cases run exactly as a default
`gossamer conformance --backend <mutant> --seed <seed>` would run them (the other cells cannot
change whether the bug is caught; failures are not shrunk, which changes only the example
shown); the mutant is caught under that seed if one of them fails.
Prints a Markdown table (mutant, family, bug class, caught/seeds, rate) and exits 1 if a rate is
below --target.

    .venv/bin/python benchmarks/conformance_catch_rate.py [--seeds 50] [--preset default]
        [--mutants a,b] [--json out.json] [--target 0.98] [--no-edges]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _register() -> dict:
    """Registers the planted backends (installed entry points hidden, as in the tests)."""
    sys.path.insert(0, str(REPO))
    from gossamer.plugins import manager

    manager.entry_points = lambda group: []  # type: ignore[assignment]
    manager.reset_plugins()
    from tests.planted_bugs.backends import register_all
    from tests.planted_bugs.mutants import MUTANTS

    register_all()
    return MUTANTS


def catch_rate(
    name: str, fails: frozenset[str], seeds: int, preset: str, edges: bool = True
) -> tuple[int, float]:
    """(seeds under which a run fails one of `fails`, seconds)."""
    from gossamer.conformance.suite import run_suite

    start = time.perf_counter()
    caught = 0
    for seed in range(seeds):
        cells = run_suite(
            name,
            ops=sorted(fails),
            seed=seed,
            preset=preset,
            graphs=False,
            shrink=False,
            edges=edges,
        )  # shrinking changes the example shown, not the verdict
        caught += any(c.case_id in fails and c.status in ("fail", "error") for c in cells)
    return caught, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--preset", default="default", choices=["quick", "default", "thorough"])
    p.add_argument("--mutants", help="comma-separated mutant names (default: all)")
    p.add_argument("--json", help="also write the rates to this JSON file")
    p.add_argument("--target", type=float, default=0.98, help="lowest acceptable rate")
    p.add_argument(
        "--no-edges",
        action="store_true",
        help="drawn examples only (no fixed edges or extremes): what they catch alone",
    )
    args = p.parse_args(argv)
    mutants = _register()
    names = args.mutants.split(",") if args.mutants else sorted(
        mutants, key=lambda n: (mutants[n].family, n)
    )  # fmt: skip
    rows = []
    print(f"| mutant | family | bug class | caught / {args.seeds} | rate | seconds |")
    print("|---|---|---|---|---|---|")
    for name in names:
        m = mutants[name]
        caught, seconds = catch_rate(name, m.fails, args.seeds, args.preset, not args.no_edges)
        rate = caught / args.seeds
        rows.append({"mutant": name, "family": m.family, "kind": m.kind, "caught": caught,
                     "seeds": args.seeds, "rate": rate, "seconds": round(seconds, 2)})  # fmt: skip
        print(f"| {name} | {m.family} | {m.kind} | {caught} | {rate:.0%} | {seconds:.1f} |",
              flush=True)  # fmt: skip
    low = [r for r in rows if r["rate"] < args.target]
    lowest = min((r["rate"] for r in rows), default=1.0)
    edges = "" if not args.no_edges else " without edges"
    print(f"\n{len(rows)} mutants, {args.seeds} seeds, preset {args.preset}{edges}: lowest rate "
          f"{lowest:.0%}, {len(low)} below the target {args.target:.0%}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"preset": args.preset, "rows": rows}, indent=1))
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
