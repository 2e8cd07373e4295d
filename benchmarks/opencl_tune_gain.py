"""What autotuning gains per model on the opencl backend: a session on the defaults (no tuning
table) against a session built after `gossamer tune`'s search (the same `tune(budget)` of every
compiled partition), both in this process, their runs interleaved (one untuned, one tuned, ...).

Per model: how many variant sites and launches the search changed, the best and median latency of
--runs runs of each session, and untuned / tuned (above 1: tuning helped). Each model tunes into
its own empty table (a temporary GOSSAMER_CACHE_DIR), so no earlier tuning is in the figures.
Not a test: nothing is asserted; run nothing else heavy meanwhile.

    .venv/bin/python benchmarks/opencl_tune_gain.py [--models mtcnn_onet,resnet18] [--budget 20]
        [--runs 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_models  # noqa: E402
from opencl_vs_cython import SETTLE_S, model_and_feeds, report_end  # noqa: E402

import gossamer  # noqa: E402

STATS = {"best": min, "median": statistics.median}  # each latency column gives both


def _partitions(sess: gossamer.Session) -> list[Any]:
    overrides = sess._program.overrides  # noqa: SLF001 - a benchmark looks inside
    return [o.impl for o in overrides.values() if o.partition and hasattr(o.impl, "tune")]


def gain(name: str, budget: float, runs: int) -> dict[str, Any]:
    model, feeds = model_and_feeds(name)
    before = os.environ.get("GOSSAMER_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GOSSAMER_CACHE_DIR"] = cache
        try:
            untuned = gossamer.load(model, backends=["opencl"])
            untuned.run(None, feeds)  # every plan built on the defaults
            searched = gossamer.load(model, backends=["opencl"])
            searched.run(None, feeds)
            start = time.perf_counter()
            parts = _partitions(searched)
            changed = {}
            for part in parts:
                changed.update(part.tune(budget / max(1, len(parts))))
            tune_s = time.perf_counter() - start
            tuned = gossamer.load(model, backends=["opencl"])  # reads the saved table
            tuned.run(None, feeds)
        finally:
            if before is None:
                os.environ.pop("GOSSAMER_CACHE_DIR", None)
            else:
                os.environ["GOSSAMER_CACHE_DIR"] = before
    times: dict[str, list[float]] = {"untuned": [], "tuned": []}
    pair = [("untuned", untuned), ("tuned", tuned)]
    for i in range(runs):
        for key, sess in pair if i % 2 else pair[::-1]:  # either first in turn
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            sess.run(None, feeds)
            times[key].append(time.perf_counter() - start)
    row: dict[str, Any] = {"model": name, "searched": len(changed), "tune_s": tune_s}
    row["changed"] = sum(1 for old, new in changed.values() if old != new)
    for stat, of in STATS.items():
        for key, got in times.items():
            row[f"{key}_{stat}_ms"] = of(got) * 1e3
        row[f"gain_{stat}"] = row[f"untuned_{stat}_ms"] / row[f"tuned_{stat}_ms"]
    return row


HEADER = (
    "| model | searched (sites + launches) | changed | search s | untuned ms (best/median) "
    "| tuned ms (best/median) | untuned / tuned (best/median) |\n|---|---|---|---|---|---|---|"
)


def line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {r['model']} | {r['error']} | | | | | |"
    pairs = [" / ".join(f"{r[key.format(s)]:.2f}" for s in STATS) for key in _PAIRED]
    cells = [r["model"], r["searched"], r["changed"], f"{r['tune_s']:.1f}", *pairs]
    return "| " + " | ".join(map(str, cells)) + " |"


_PAIRED = ("untuned_{}_ms", "tuned_{}_ms", "gain_{}")  # the best / median columns


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", help="comma-separated (default: every benchmark model)")
    p.add_argument("--budget", type=float, default=20.0, help="search seconds per model")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = p.parse_args()
    names = args.models.split(",") if args.models else bench_models.all_model_names()
    load_start = os.getloadavg()
    print(HEADER, flush=True)
    rows = []
    for name in names:
        try:
            rows.append(gain(name, args.budget, args.runs))
        except Exception as err:  # one model's failure is a row, not the end of the run
            rows.append({"model": name, "error": f"{type(err).__name__}: {err}"[:200]})
        print(line(rows[-1]), flush=True)
    report_end(rows, load_start, args.json, budget=args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
