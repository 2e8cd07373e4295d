"""The first run after an idle gap: Gossamer's cython backend against onnxruntime.

A deployed model often runs once per request, with the process idle in between: its thread pool
has gone to sleep, its caches are cold, the CPU may have clocked down. This measures single runs
after idle gaps of each length in --gaps (milliseconds), next to the steady state (runs back to
back). Each engine runs in its own worker process (bench_worker.py, loaded once); the engines take
turns in a rotating order, each turn one sleep of the gap then one timed run, so that the shared
machine's noise falls on both alike. Reported: per model, thread count, gap and engine, the median
of --reps runs, and the steady-state median of the same workers. A gap of 0 follows the other
engine's run at once, so it also measures that engine's threads still spinning on the cores
(onnxruntime's spin for a while after a run; Gossamer's for 100 us): take the longer gaps for
the wake-up itself. benchmarks/pool_trace.py shows where a cold run's time goes.

    python benchmarks/after_idle.py --models resnet18 --threads 2
    python benchmarks/after_idle.py --models resnet18,squeezenet1_1 --gaps 0,50,500 --reps 15
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import CACHE, prepare  # noqa: E402
from side_by_side import Worker  # noqa: E402

ENGINES = ["gossamer-cython", "onnxruntime"]


def measure(model: str, threads: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """engine -> {gap label -> median ms}, "steady" included."""
    prepared = prepare(model, ENGINES, args.opt_level, None)
    tmp = CACHE / "work"
    tmp.mkdir(parents=True, exist_ok=True)
    workers = [Worker(e, prepared, threads, args.warmup, tmp) for e in ENGINES]
    try:
        for w in workers:
            hello = w.ask(None, args.timeout)
            if "error" in hello:
                raise RuntimeError(f"{w.engine}: {hello['error']}")
        times: dict[str, dict[str, list[float]]] = {w.engine: {} for w in workers}
        gaps = [float(g) for g in args.gaps.split(",")]
        for rep in range(args.reps):
            order = workers[rep % 2 :] + workers[: rep % 2]
            for gap in gaps:
                for w in order:
                    time.sleep(gap / 1000)
                    t = w.ask("run 1", args.timeout)["times"][0]
                    times[w.engine].setdefault(f"{gap:g} ms", []).append(t * 1000)
            for w in order:  # steady state: back to back, the first run of the turn dropped
                t = w.ask(f"run {args.steady + 1}", args.timeout)["times"][1:]
                times[w.engine].setdefault("steady", []).extend(x * 1000 for x in t)
        return {e: {k: statistics.median(v) for k, v in d.items()} for e, d in times.items()}
    finally:
        for w in workers:
            w.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18", help="comma-separated benchmark models")
    parser.add_argument("--threads", default="2", help="thread counts (default 2)")
    parser.add_argument("--gaps", default="0,50,500", help="idle gaps in ms (default 0,50,500)")
    parser.add_argument("--reps", type=int, default=10, help="runs per gap and engine")
    parser.add_argument("--steady", type=int, default=3, help="back-to-back runs per rep")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs after loading")
    parser.add_argument("--opt-level", type=int, default=3, help="Gossamer's -O level")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per worker reply")
    args = parser.parse_args(argv)
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    for model in args.models.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            res = measure(model, threads, args)
            labels = list(next(iter(res.values())))
            print(f"\n{model}, {threads} thread(s): median ms over {args.reps} reps")
            print("| engine | " + " | ".join(labels) + " |")
            print("|---|" + "---:|" * len(labels))
            for engine, row in res.items():
                print(f"| {engine} | " + " | ".join(f"{row[k]:.2f}" for k in labels) + " |")
            g, o = res["gossamer-cython"], res["onnxruntime"]
            print("| ratio | " + " | ".join(f"{g[k] / o[k]:.2f}x" for k in labels) + " |")
    print(f"\nload after: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
