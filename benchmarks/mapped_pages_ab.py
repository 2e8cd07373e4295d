"""The release of a packed weight's mapped pages (refimpl/model_format/mapped_pages.py) on and off,
in one process: two sessions of the same -O3 .gsm, one loaded and first run with the release off,
runs alternated (the order swapped every turn). Prints both medians and minima and their ratio.

    .venv/bin/python benchmarks/mapped_pages_ab.py --model minilm_l6_int8 --threads 2 --runs 150

Models come from the side-by-side cache (benchmarks/bench_models.py prepares them). Results:
benchmarks/results/side_by_side_cpu_xeon.md (Session 26)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402
from gossamer.plugins import prepacked  # noqa: E402

import gossamer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    spec = prepare(args.model, ["gossamer-cython"], 3, None).spec
    feeds = dict(np.load(spec["feeds"]))
    release = prepacked.release
    prepacked.release = lambda weight: 0  # packing in this session's first run keeps the pages
    kept = gossamer.load(spec["gsm"], threads=args.threads)
    kept.run(None, feeds)
    prepacked.release = release
    released = gossamer.load(spec["gsm"], threads=args.threads)
    released.run(None, feeds)
    times: dict[str, list[float]] = {"kept": [], "released": []}
    pair = [("kept", kept), ("released", released)]
    for turn in range(args.runs + 5):
        for name, session in pair if turn % 2 else pair[::-1]:
            t0 = time.perf_counter()
            session.run(None, feeds)
            if turn >= 5:
                times[name].append((time.perf_counter() - t0) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    print(f"{args.model}, {args.threads} thread(s): pages kept median {med['kept']:.3f} min "
          f"{low['kept']:.3f} ms | released median {med['released']:.3f} min {low['released']:.3f}"
          f" ms | released / kept {med['released'] / med['kept']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
