"""Per-node dispatch cost of the cython backend: a chain of N small nodes (alternating Relu and
Add of a constant on a 16-element tensor), run node by node (GOSSAMER_SEGMENTS=0 semantics:
segments switched off on the program) and as one segment (cython_kernels/segments.py).

    .venv/bin/python benchmarks/dispatch_cost.py [--nodes 200] [--size 16] [--threads 1]

Prints the median time per run and per node for both ways; the difference between a chain and a
chain of twice the length isolates the per-node cost from the per-run cost.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def chain(nodes: int, size: int) -> Graph:
    """x -> Relu -> Add(c) -> Relu -> ... -> y (nodes nodes)."""
    c = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    body: list[Node] = []
    prev = "x"
    for i in range(nodes):
        out = "y" if i == nodes - 1 else f"t{i}"
        if i % 2:
            body.append(Node("Add", [prev, "c"], [out], name=f"add{i}"))
        else:
            body.append(Node("Relu", [prev], [out], name=f"relu{i}"))
        prev = out
    return Graph(
        body,
        [Value("x", "float32", (size,))],
        [Value("y", "float32", (size,))],
        initializers={"c": c},
        name=f"chain{nodes}",
        opsets={"": 17},
    )


def median_run(session: gossamer.Session, feeds: dict, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(nodes: int, size: int, threads: int, repeat: int) -> dict[str, float]:
    x = np.linspace(-2.0, 2.0, size, dtype=np.float32)
    out = {}
    for mode in ("node by node", "segment"):
        s = gossamer.load(chain(nodes, size), backends=["cython"], threads=threads, optimize=0)
        if mode == "node by node":
            s._program._segment_builder = None  # segments off for this program only
        for _ in range(5):
            s.run(None, {"x": x})
        schedule = s._program.schedule
        if mode == "segment":
            assert schedule and any(seg for _, _, seg, _ in schedule), "no segment was built"
        out[mode] = median_run(s, {"x": x}, repeat)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2000)
    args = ap.parse_args()
    short = measure(args.nodes, args.size, args.threads, args.repeat)
    long = measure(2 * args.nodes, args.size, args.threads, args.repeat)
    print(f"chain of Relu/Add on float32[{args.size}], threads={args.threads}")
    print(f"{'mode':<14}{'N run us':>10}{'2N run us':>11}{'us/node':>9}{'marginal us/node':>18}")
    for mode in short:
        a, b = short[mode] * 1e6, long[mode] * 1e6
        print(f"{mode:<14}{a:>10.1f}{b:>11.1f}{a / args.nodes:>9.3f}"
              f"{(b - a) / args.nodes:>18.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
