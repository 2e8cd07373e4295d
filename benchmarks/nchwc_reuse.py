"""How warm each node's output buffer is when the node writes it, from a session's memory plan:
the bytes the run touched since those arena bytes were last touched (their reuse distance), per
node, in the steady state (a run after a run: what the run before touched last counts).

    .venv/bin/python benchmarks/nchwc_reuse.py --model squeezenet1_1

Per step the footprint is its inputs' and outputs' bytes plus its weights' (initializers); an
output's distance per 4 KB page is the sum of the footprints of the steps since that page's last
toucher (an upper bound on the distinct bytes: a tensor read twice counts twice). A page under
the L2 size (2 MB a core here; at two threads each core sees about half of every step) was
touched recently enough to be in L2 or near it; over it, the writes miss. Prints a Markdown table
and the share of output bytes within 1, 2 and 4 MB. Pure Python on the plan: no timing, no lock
needed beyond the model's load. Results: benchmarks/results/nchwc_layout.md (Session 27 (sq)).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

PAGE = 4096


def step_touches(sess) -> tuple[list, list[int], object]:  # type: ignore[no-untyped-def]
    """Per step: (node, [(lo, hi) arena ranges read], [(lo, hi) ranges written], weight bytes)
    and each step's footprint, from the session's plan (its first run planned it)."""
    program = sess._program
    plan = program.arena.plan
    inits = sess.graph.initializers
    steps, foot = [], []
    by_name = {n.name: n for n in program.nodes}
    for name in plan.steps:
        node = by_name[name]
        reads = [(plan.tensors[v].offset, plan.tensors[v].offset + plan.tensors[v].nbytes)
                 for v in node.inputs if v in plan.tensors]  # fmt: skip
        writes = [(plan.tensors[v].offset, plan.tensors[v].offset + plan.tensors[v].nbytes)
                  for v in node.outputs if v in plan.tensors]  # fmt: skip
        wbytes = sum(int(np.asarray(inits[v]).nbytes) for v in node.inputs if v in inits)
        steps.append((node, reads, writes, wbytes))
        foot.append(sum(h - lo for lo, h in reads + writes) + wbytes)
    return steps, foot, plan


def distances(steps: list, foot: list[int], arena_bytes: int) -> list[np.ndarray]:
    """Per step, its outputs' pages' reuse distances (bytes), in the second of two runs."""
    pages = -(-arena_bytes // PAGE)
    last = np.full(pages, -1, np.int64)  # the step (over both runs) that touched a page last
    cum = np.concatenate([[0], np.cumsum(foot + foot)])  # bytes touched before step s
    out: list[np.ndarray] = []
    n = len(steps)
    for run in range(2):
        for k, (_node, reads, writes, _w) in enumerate(steps):
            s = run * n + k
            if run == 1:
                d = []
                for lo, hi in writes:
                    p = np.arange(lo // PAGE, -(-hi // PAGE))
                    t = last[p]
                    d.append(np.where(t < 0, cum[s], cum[s] - cum[np.maximum(t, 0) + 1]))
                out.append(np.concatenate(d) if d else np.zeros(0, np.int64))
            for lo, hi in reads + writes:
                last[lo // PAGE : -(-hi // PAGE)] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="squeezenet1_1")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from bf16_speed import feeds_of, spec_of

    import gossamer

    spec = spec_of(args.model)
    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads)
    sess.run(None, feeds_of(spec))
    steps, foot, plan = step_touches(sess)
    dist = distances(steps, foot, plan.arena_bytes)
    mb = 1 << 20
    print(f"{args.model}: arena {plan.arena_bytes / mb:.2f} MB, {len(steps)} steps, "
          f"{sum(foot) / mb:.2f} MB touched a run")  # fmt: skip
    print("\n| step | node | op | out KB | weights KB | reuse distance MB: min / median / max |")
    print("|---:|---|---|---:|---:|---|")
    within = {1: 0, 2: 0, 4: 0}
    total = 0
    for k, ((node, _r, writes, wb), d) in enumerate(zip(steps, dist)):
        if not d.size:
            continue
        out_kb = sum(h - lo for lo, h in writes) / 1024
        total += d.size
        for lim in within:
            within[lim] += int((d < lim * mb).sum())
        print(f"| {k} | {node.name} | {node.op_type} | {out_kb:.0f} | {wb / 1024:.0f} | "
              f"{d.min() / mb:.2f} / {np.median(d) / mb:.2f} / {d.max() / mb:.2f} |")  # fmt: skip
    print("\noutput pages within " + ", ".join(f"{lim} MB: {100 * v / total:.0f} %"
                                               for lim, v in within.items()))  # fmt: skip


if __name__ == "__main__":
    main()
