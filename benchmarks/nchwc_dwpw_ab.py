"""The fused depthwise conv + 1x1 (gossamer::NchwcDepthwisePointwise) A/B in one session: the
model is loaded with the pairs fused (each fused node writes the depthwise result to its place
in the arena either way), and the kernel's switch (`ext().nchwc_dwpw(min_rows, min_rows_1t)`)
picks per run whether each node fuses: "off" never, "on" the default rule, "all" every plane, a
number R where the output has at least R rows (at any thread count). The variants
alternate run by run (the same machine load); whole runs are timed without an observer, then one
observed run gives each fused node's time (~5 us of dispatch included) and the other nodes' (the
node after a fused one reads what it left in cache).

    .venv/bin/python benchmarks/nchwc_dwpw_ab.py --model mobilenet_v2 --threads 2 --reps 60

The graph pass fuses only with GOSSAMER_NCHWC_DWPW=1 (this script sets it).

Models come from the benchmark cache (bench_models.py prepares them). Results:
benchmarks/results/nchwc_layout.md (Session 30).
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

NEVER = 1 << 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--variants", default="off,on,all", help="off, on, all or R, commas")
    args = ap.parse_args()

    from bf16_speed import feeds_of, spec_of
    from fp32_conv_layers import _Marks
    from gossamer.cython_kernels._native import ext

    import gossamer

    default = ext().nchwc_dwpw()
    knobs = {"off": (NEVER, NEVER), "on": default[:2], "all": (0, 0)}
    names = args.variants.split(",")
    knobs.update({name: (int(name), int(name)) for name in names if name.isdigit()})
    spec = spec_of(args.model)
    feeds = feeds_of(spec)
    os.environ["GOSSAMER_NCHWC_DWPW"] = "1"  # the graph pass fuses (off by default)
    ext().nchwc_dwpw(NEVER, NEVER)
    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads)
    for _ in range(3):
        sess.run(None, feeds)
    fused = sum(n.op_type == "NchwcDepthwisePointwise" for n in sess.graph.nodes)
    whole: dict[str, list[float]] = {n: [] for n in names}
    per = {n: collections.defaultdict(list) for n in names}
    other = {n: collections.defaultdict(list) for n in names}  # every node
    shapes = {}
    outs = {}
    try:
        for r in range(args.reps):
            for name in names:
                ext().nchwc_dwpw(*knobs[name])
                t0 = time.perf_counter()
                y = sess.run(None, feeds)
                whole[name].append((time.perf_counter() - t0) * 1e3)
                if r == 0:
                    outs[name] = y
                marks = _Marks()
                sess.run(None, feeds, observers=[marks])
                for node, ins, yshape, us in marks.spans:
                    other[name][node.name].append(us)
                    if node.op_type == "NchwcDepthwisePointwise":
                        per[name][node.name].append(us)
                        shapes[node.name] = (list(ins[0]), list(yshape))
    finally:
        ext().nchwc_dwpw(*default)
    same = all(
        all(a.tobytes() == b.tobytes() for a, b in zip(outs[names[0]], outs[n])) for n in names
    )
    bits = "the same bits" if same else "DIFFER"
    print(f"{args.model}, {args.threads} thread(s), {args.reps} runs each, {fused} fused nodes, "
          f"outputs {bits}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for n in names:
        w = whole[n]
        print(f"{n} {knobs[n]}: whole run min {min(w):.3f} ms, median {statistics.median(w):.3f}")
    print(f"\n| node | x | y | {' | '.join(names)} |\n|---|---|---|{'---:|' * len(names)}")
    tot = collections.Counter()
    for node in per[names[0]]:
        v = [min(per[n][node]) for n in names]
        for n, x in zip(names, v):
            tot[n] += x
        x, y = shapes[node]
        print(f"| {node} | {x} | {y} | " + " | ".join(f"{t:.0f}" for t in v) + " |")
    print("| all fused nodes (min) | | | " + " | ".join(f"{tot[n]:.0f}" for n in names) + " |")
    rest = [sum(min(v) for k, v in other[n].items() if k not in per[n]) for n in names]
    print("| the other nodes (min) | | | " + " | ".join(f"{t:.0f}" for t in rest) + " |")


if __name__ == "__main__":
    main()
