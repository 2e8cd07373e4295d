"""The thread pool's pulling of a descheduled worker and its guided ranges (src/threadpool.h), on
and off in one process: the benchmark models' -O3 .gsm in cython-only sessions, every setting
run in turns of --block runs in a rotating order, quiet and with a busy process pinned to core 1
(--busy, the default runs both phases). Prints per model, phase and setting the median and
the fastest run (ms), the workers pulled per run, and the load average.

    .venv/bin/python benchmarks/under_load_pull.py --models mobilenet_v2,squeezenet1_1,resnet18

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pool_balance import cython_session  # noqa: E402
from under_load import busy_process  # noqa: E402

# (pull, guided)
SETTINGS = {"pull+guided": (1, 1), "guided": (0, 1), "pull+even": (1, 0), "even": (0, 0)}


def measure(model: str, threads: int, runs: int, block: int) -> dict[str, tuple]:
    from gossamer.cython_kernels._native import ext

    sess, feeds = cython_session(model, threads)
    for _ in range(5):
        sess.run(None, feeds)
    times: dict[str, list[float]] = {k: [] for k in SETTINGS}
    pulls = dict.fromkeys(SETTINGS, 0)
    keys = list(SETTINGS)
    old = ext().pool_pull(-1), ext().pool_guided(-1)
    try:
        for turn in range(-(-runs // block)):
            for key in keys[turn % len(keys) :] + keys[: turn % len(keys)]:
                ext().pool_pull(SETTINGS[key][0])
                ext().pool_guided(SETTINGS[key][1])
                p0 = ext().pool_pulls()
                for _ in range(block):
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    times[key].append((time.perf_counter() - t0) * 1e3)
                pulls[key] += ext().pool_pulls() - p0
    finally:
        ext().pool_pull(old[0])
        ext().pool_guided(old[1])
    return {
        k: (statistics.median(v), min(v), pulls[k] / len(v)) for k, v in times.items()
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mobilenet_v2,squeezenet1_1,resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--block", type=int, default=5)
    ap.add_argument("--phases", default="quiet,busy")
    args = ap.parse_args()
    print("| model | phase | load | " + " | ".join(f"{k} med / min ms" for k in SETTINGS)
          + " | pulls per run (pull+guided) |")  # fmt: skip
    print("|---|---|---|" + "---:|" * (len(SETTINGS) + 1))
    for model in args.models.split(","):
        for phase in args.phases.split(","):
            busy = busy_process() if phase == "busy" else None
            try:
                if busy:
                    time.sleep(0.5)
                l0 = os.getloadavg()[0]
                r = measure(model, args.threads, args.runs, args.block)
                l1 = os.getloadavg()[0]
            finally:
                if busy:
                    busy.kill()
                    busy.wait()
            cells = " | ".join(f"{r[k][0]:.3f} / {r[k][1]:.3f}" for k in SETTINGS)
            print(f"| {model} | {phase} | {l0:.1f}-{l1:.1f} | {cells} | "
                  f"{r['pull+guided'][2]:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
