"""Whole MiniLM on the cython backend with the attention blocks fused (gossamer::PackedAttention)
and unfused (GOSSAMER_ATTENTION=0), two sessions in one process, runs interleaved (the order
alternating), so a machine whose speed swings affects both alike; medians and minima in ms, the
largest output difference, the load before and after.

    .venv/bin/python benchmarks/attention_ab.py --threads 1,2 --runs 100

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import gossamer

MODEL = os.path.expanduser("~/.cache/gossamer/bench/minilm-1460f57b4e1d/")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--model", default=MODEL, help="folder with O3.gsm and feeds.npz")
    args = ap.parse_args()
    feeds = dict(np.load(os.path.join(args.model, "feeds.npz")))
    print(f"load before: {os.getloadavg()}")
    for n in (int(t) for t in args.threads.split(",")):
        sessions = {}
        for key, flag in (("unfused", "0"), ("fused", "1")):
            os.environ["GOSSAMER_ATTENTION"] = flag
            sessions[key] = gossamer.load(os.path.join(args.model, "O3.gsm"),
                                          backends=["cython"], threads=n)  # fmt: skip
            for _ in range(3):  # node by node, recorded, replayed
                sessions[key].run(None, feeds)
        out = {k: s.run(None, feeds)[0] for k, s in sessions.items()}
        times: dict[str, list[float]] = {k: [] for k in sessions}
        for i in range(args.runs):
            for key in list(sessions)[:: 1 if i % 2 else -1]:
                t0 = time.perf_counter()
                sessions[key].run(None, feeds)
                times[key].append((time.perf_counter() - t0) * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        low = {k: min(v) for k, v in times.items()}
        ratio = med["fused"] / med["unfused"], low["fused"] / low["unfused"]
        diff = float(np.max(np.abs(out["fused"] - out["unfused"])))
        print(f"{n} thread(s): unfused median {med['unfused']:.2f} min {low['unfused']:.2f}, "
              f"fused median {med['fused']:.2f} min {low['fused']:.2f} ms; fused / unfused "
              f"median {ratio[0]:.3f} min {ratio[1]:.3f}; "
              f"max |difference| {diff:.1e}")  # fmt: skip
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
