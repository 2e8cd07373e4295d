"""conv_knob_ab.py in blocks of runs: for a run-time switch whose effect builds up over the runs
in a row (which core last wrote a buffer, what a cache still holds from the run before), which an
alternation run by run would wash out. One gossamer process, one session; per round each
variant's statement, then `--per` whole runs (the first `--skip` not counted) and `--obs`
observer runs (the layers one by one, as conv_knob_ab.py); the rounds alternate the variants'
order. Prints the whole runs' minimum and median, then the layers' minimums summed per shape
(input x weight) with the count of layers of that shape.

    .venv/bin/python benchmarks/conv_knob_blocks_ab.py --model resnet50 --threads 2 \\
        --rounds 12 --per 6 --skip 2 --variant "k256=ext().gemm_tune(256,0)" \\
        --variant "k384=ext().gemm_tune(384,0)"
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

from conv_knob_ab import LAYERS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per", type=int, default=6, help="whole runs per variant and round")
    ap.add_argument("--skip", type=int, default=2, help="of those, not counted")
    ap.add_argument("--obs", type=int, default=2, help="observer runs per variant and round")
    ap.add_argument("--variant", action="append", required=True, help="name=statement")
    args = ap.parse_args()

    from bf16_speed import feeds_of, spec_of
    from fp32_conv_layers import _Marks
    from gossamer.cython_kernels._native import ext

    import gossamer

    variants = [tuple(v.split("=", 1)) for v in args.variant]
    names = [n for n, _ in variants]
    spec = spec_of(args.model)
    feeds = feeds_of(spec)
    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads)
    for _ in range(5):
        sess.run(None, feeds)
    whole: dict[str, list[float]] = {n: [] for n in names}
    per = {n: collections.defaultdict(list) for n in names}
    shape = {}
    load0 = os.getloadavg()[0]
    for r in range(args.rounds):
        for name, stmt in variants if r % 2 == 0 else variants[::-1]:
            exec(stmt, {"ext": ext})
            for i in range(args.per):
                t0 = time.perf_counter()
                sess.run(None, feeds)
                if i >= args.skip:
                    whole[name].append((time.perf_counter() - t0) * 1e3)
            for _ in range(args.obs):
                marks = _Marks()
                sess.run(None, feeds, observers=[marks])
                for node, shapes, _y, us in marks.spans:
                    if node.op_type in LAYERS:
                        per[name][node.name].append(us)
                        shape[node.name] = (str(list(shapes[0][1:])), str(list(shapes[1])))
    print(f"{args.model}, {args.threads} thread(s), {args.rounds} rounds x {args.per} runs "
          f"(skip {args.skip}) + {args.obs} observer runs, load {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    for n in names:
        print(f"{n}: whole run min {min(whole[n]):.2f} ms, median "
              f"{statistics.median(whole[n]):.2f}")  # fmt: skip
    groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for layer in per[names[0]]:
        groups[shape[layer]].append(layer)
    print(f"\n| x | w | layers | {' | '.join(names)} |\n|---|---|---:|{'---:|' * len(names)}")
    for (x, w), layers in groups.items():
        sums = [sum(min(per[n][layer]) for layer in layers) for n in names]
        print(f"| {x} | {w} | {len(layers)} | " + " | ".join(f"{s:.0f}" for s in sums) + " |")
    tot = [sum(min(v) for v in per[n].values()) for n in names]
    print("| all layers | | | " + " | ".join(f"{s:.0f}" for s in tot) + " |")


if __name__ == "__main__":
    main()
