"""This tree's cython backend against another checkout's build (--base) and against
onnxruntime (and other peers): each engine in its own process (bench_worker.py of its own tree,
run by that tree's venv), driven turn by turn and interleaved (every turn runs each engine
`--per-turn` times, the turns cycling through every order of the engines, a pause of
`--settle-ms` before each engine's runs); medians (or, --stat min, the fastest) over all timed
runs, the load average before and after.

Why every order and the pause: an engine's threads may go on spinning after its runs
(onnxruntime's pool does), slowing whichever engine runs next. With the order only rotated, this
tree followed onnxruntime in two turns of three and the base in one: MiniLM at 2 threads read
1.05-1.30x the base with either tree in the `this` slot (swapping the trees swapped the verdict),
0.99-1.01 without onnxruntime in the turns.

    .venv/bin/python benchmarks/ab_trees.py --base ../baseline --models mobilenet_v2 --turns 20

Models come from the side-by-side cache (bench_models.py prepares them; the base's .gsm is
converted by the base tree's own optimiser, in a cache of its own). Prints one Markdown row
per model and thread count. Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402

HERE = Path(__file__).resolve().parent


def _base_spec(base: Path, name: str, cache: Path) -> str:
    """The model prepared by the base tree's own bench_models.py and optimiser (in a cache of its
    own): a .gsm written by this tree may hold ops or inputs the base does not know."""
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); from bench_models import prepare; "
        f"print(prepare({name!r}, ['gossamer-cython', 'onnxruntime'], 3, None).spec_path)"
    )
    env = {**os.environ, "GOSSAMER_BENCH_CACHE": str(cache)}
    out = subprocess.run([str(base / ".venv/bin/python"), "-c", code], cwd=base, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


class _Worker:
    def __init__(self, python: str, tree: Path, engine: str, spec: str, threads: int, out: Path):
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        args = [python, str(tree / "benchmarks" / "bench_worker.py"), engine, spec, str(threads),
                "3", str(out)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env,
                                     cwd=tree)  # fmt: skip
        self.times: list[float] = []
        self.ask(None)

    def ask(self, command: str | None) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], 600)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            raise RuntimeError("worker exited or timed out")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            self.ask("quit")
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mobilenet_v2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--per-turn", type=int, default=3)
    ap.add_argument("--base", required=True, help="the other checkout (built in place)")
    ap.add_argument(
        "--peers", default="onnxruntime", help="peer engines, e.g. onnxruntime,openvino"
    )
    ap.add_argument("--settle-ms", type=float, default=50.0,
                    help="pause before each engine's runs (others' spinning threads)")  # fmt: skip
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="min: each engine's fastest run (steadier when shared)")  # fmt: skip
    args = ap.parse_args()
    base = Path(args.base)
    this = HERE.parent
    peers = args.peers.split(",")
    print(f"| threads | model | this tree | base | {' | '.join(peers)} | this / base | "
          "this / best peer | base / best peer | load |")  # fmt: skip
    print("|---|---|---:|---:|" + "---:|" * len(peers) + "---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (int(t) for t in args.threads.split(",")):
            for name in args.models.split(","):
                spec = prepare(name, ["gossamer-cython", "onnxruntime"], 3, None).spec_path
                load0 = open("/proc/loadavg").read().split()[0]
                workers = {
                    "this": _Worker(
                        sys.executable,
                        this,
                        "gossamer-cython",
                        str(spec),
                        threads,
                        Path(tmp) / "this.npz",
                    ),  # fmt: skip
                    "base": _Worker(
                        str(base / ".venv/bin/python"),
                        base,
                        "gossamer-cython",
                        _base_spec(base, name, Path(tmp) / "base_cache"),
                        threads,
                        Path(tmp) / "base.npz",
                    ),  # fmt: skip
                }
                for peer in peers:
                    workers[peer] = _Worker(sys.executable, this, peer, str(spec), threads,
                                            Path(tmp) / f"{peer}.npz")  # fmt: skip
                orders = list(itertools.permutations(workers))
                for turn in range(args.turns):
                    for key in orders[turn % len(orders)]:
                        time.sleep(args.settle_ms / 1e3)
                        # one untimed wake-up run, then the timed ones
                        times = workers[key].ask(f"run {args.per_turn + 1}")["times"]
                        workers[key].times += times[1:]
                for w in workers.values():
                    w.close()
                load1 = open("/proc/loadavg").read().split()[0]
                stat = statistics.median if args.stat == "median" else min
                med = {k: stat(w.times) * 1e3 for k, w in workers.items()}
                best = min(med[p] for p in peers)
                cells = " | ".join(f"{med[p]:.2f}" for p in peers)
                print(f"| {threads} | {name} | {med['this']:.2f} | {med['base']:.2f} | {cells} | "
                      f"{med['this'] / med['base']:.3f} | {med['this'] / best:.2f} | "
                      f"{med['base'] / best:.2f} | {load0} -> {load1} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
