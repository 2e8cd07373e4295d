"""This tree's cython backend against another checkout's (a baseline, e.g. main) and onnxruntime,
each in its own process (bench_worker.py), turns interleaved in a rotating order; the baseline
runs with its own venv and extension, read-only.

    .venv/bin/python benchmarks/ab_vs_tree.py --base /work/main \\
        --models squeezenet1_1,silero_vad_v6_16k_sequence --threads 1,2 --turns 20

Models come from the side-by-side cache (bench_models.prepare). Prints one Markdown table per
thread count: medians of all timed runs (each turn: one untimed wake-up run, then --inner timed
runs), the ratios to the baseline and to onnxruntime, and the load average before and after."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import all_model_names, prepare  # noqa: E402


class _Worker:
    def __init__(self, python: str, tree: Path, engine: str, spec: str, threads: int, out: Path):
        args = [python, str(tree / "benchmarks" / "bench_worker.py"), engine, spec, str(threads),
                "3", str(out)]  # fmt: skip
        self.proc = subprocess.Popen(args, cwd=tree, stdin=subprocess.PIPE, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        hello = self._read()
        if "error" in hello:
            raise RuntimeError(f"{engine} in {tree}: {hello['error']}")
        self.times: list[float] = []

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def run(self, n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {n + 1}\n")
        self.proc.stdin.flush()
        self.times += self._read()["times"][1:]  # the first only wakes the threads up

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the baseline checkout (its .venv is used)")
    ap.add_argument("--models", default="squeezenet1_1")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--inner", type=int, default=3)
    args = ap.parse_args()
    names = args.models.split(",")
    unknown = set(names) - set(all_model_names())
    if unknown:
        sys.exit(f"unknown models: {sorted(unknown)}")
    base, here = Path(args.base).resolve(), HERE.parent
    tmp = Path(tempfile.mkdtemp())
    for t in (int(v) for v in args.threads.split(",")):
        print(f"\n### {t} thread(s)\n\nload before: {_load()}\n")
        print("| model | base cython ms | this cython ms | this / base | base / ort | this / ort |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in names:
            spec = str(prepare(name, ["gossamer-cython", "onnxruntime"], 3, None).spec_path)
            workers = {
                "base": _Worker(str(base / ".venv/bin/python"), base, "gossamer-cython", spec, t,
                                tmp / "base.npz"),
                "this": _Worker(sys.executable, here, "gossamer-cython", spec, t, tmp / "this.npz"),
                "ort": _Worker(sys.executable, here, "onnxruntime", spec, t, tmp / "ort.npz"),
            }  # fmt: skip
            order = list(workers.values())
            for turn in range(args.turns):
                shift = turn % len(order)
                for w in order[shift:] + order[:shift]:
                    time.sleep(0.05)
                    w.run(args.inner)
            med = {k: statistics.median(w.times) * 1e3 for k, w in workers.items()}
            for w in workers.values():
                w.close()
            print(f"| {name} | {med['base']:.3f} | {med['this']:.3f} | "
                  f"{med['this'] / med['base']:.3f} | {med['base'] / med['ort']:.3f} | "
                  f"{med['this'] / med['ort']:.3f} |", flush=True)  # fmt: skip
        print(f"\nload after: {_load()}")


if __name__ == "__main__":
    main()
