"""Before / after of one module-level switch of the opencl backend (`gemm.WIDE`,
`conv.DIRECT_WIDE`, `pool.WIDE`, `conv.TINY_MACS`, ...), in one process: a session built with
each value, then rounds of `Session.run` and of every launch alone (enqueue, finish; summed per
kernel family) in alternation. Prints best / median ms per value, the families side by side and
the largest output difference, with the load average at the start and the end. Not a test:
nothing is asserted.

    .venv/bin/python benchmarks/opencl_ab_switch.py gossamer.opencl_plugin.kernels.gemm.WIDE \
        resnet18,squeezenet1_1 [--rounds 12] [--values False,True]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from opencl_kernel_profile import launch_times  # noqa: E402
from opencl_vs_cython import SETTLE_S, model_and_feeds  # noqa: E402

import gossamer  # noqa: E402


def family(kernel: str) -> str:
    """A kernel's family: generated kernels lose their hash, the wide variants their `_wide`."""
    return re.sub(r"_[0-9a-f]{16}$", "", kernel).replace("_wide", "")


def cell(times: list[float]) -> str:
    return f"{min(times) * 1e3:.3f} / {statistics.median(times) * 1e3:.3f}"


def compare(name: str, mod: object, attr: str, values: tuple, rounds: int) -> None:
    model, feeds = model_and_feeds(name)
    original = getattr(mod, attr)
    sessions, outputs = [], []
    try:
        for value in values:
            setattr(mod, attr, value)  # plans are built on the first run, under this value
            sess = gossamer.load(model, backends=["opencl"])
            outputs.append(sess.run(None, feeds))
            sessions.append(sess)
    finally:
        setattr(mod, attr, original)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(*outputs))
    runs: list[list[float]] = [[] for _ in values]
    launches: list[list[float]] = [[] for _ in values]
    families: list[dict[str, list[float]]] = [{} for _ in values]
    for _ in range(rounds):
        for i, sess in enumerate(sessions):
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            sess.run(None, feeds)
            runs[i].append(time.perf_counter() - start)
            time.sleep(SETTLE_S)
            rows = launch_times(sess, 1)
            launches[i].append(sum(r[0] for r in rows))
            per: dict[str, float] = {}
            for seconds, kernel, *_ in rows:
                per[family(kernel)] = per.get(family(kernel), 0.0) + seconds
            for fam, seconds in per.items():
                families[i].setdefault(fam, []).append(seconds)
    print(
        f"{name} ({attr} = {' / '.join(map(repr, values))}), max abs output difference {diff:.2e}"
    )
    print("  run ms (best / median):      " + "  |  ".join(cell(t) for t in runs))
    print("  launches ms (best / median): " + "  |  ".join(cell(t) for t in launches))
    for fam in sorted(set().union(*families)):
        cells = [cell(f[fam]) if fam in f else "-" for f in families]
        print(f"    {fam:28s} " + "  |  ".join(cells))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("switch", help="module.attribute, e.g. gossamer.opencl_plugin.kernels.gemm.WIDE")
    p.add_argument("models", help="comma-separated benchmark model names")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--values", default="False,True", help="Python literals, comma-separated")
    args = p.parse_args()
    modname, attr = args.switch.rsplit(".", 1)
    mod = importlib.import_module(modname)
    if not hasattr(mod, attr):
        p.error(f"{modname} has no attribute {attr}")
    values = tuple(ast.literal_eval(v) for v in args.values.split(","))
    print(f"load average at start: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for name in args.models.split(","):
        compare(name, mod, attr, values, args.rounds)
    print(f"load average at end: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
