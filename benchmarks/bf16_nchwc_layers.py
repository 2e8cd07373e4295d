"""The blocked AMX 1x1 (cython_kernels/bf16_nchwc_conv.py) against the float32 blocked kernel
(nchwc_conv.py) node by node: the NchwcConv nodes a bf16 session of the model runs on cython-bf16,
each prepared both ways on the inputs the session gave it, called alternately.

    .venv/bin/python benchmarks/bf16_nchwc_layers.py [--model mobilenet_v2] [--threads 1]
        [--reps 40]

Prints per node (input blocks x plane -> output channels) min and median us of each and their
ratio, then the sums. The machine is shared: the load is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bf16_speed import feeds_of, spec_of  # noqa: E402


class _Grab:
    def __init__(self, names: set[str]) -> None:
        self.names, self.seen = names, {}

    def before_node(self, node, inputs) -> None:
        if node.name in self.names:
            self.seen[node.name] = (node, [None if v is None else v.copy() for v in inputs])

    def after_node(self, node, inputs, outputs) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=40)
    args = ap.parse_args()
    from gossamer.cython_kernels.bf16_nchwc_conv import prepare_nchwc_1x1
    from gossamer.cython_kernels.nchwc_conv import _prepare_conv
    from gossamer.plugins.run_context import using_threads

    import gossamer

    spec = spec_of(args.model)
    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads, precision="bf16")
    placed = sess.placement.backend_of
    names = {n.name for n in sess.graph.nodes
             if n.op_type == "NchwcConv" and placed[n.name] == "cython-bf16"}  # fmt: skip
    grab = _Grab(names)
    sess.run(None, feeds_of(spec), observers=[grab])
    consts = sess.graph.initializers
    print(f"load {os.getloadavg()[0]:.2f}, {len(names)} nodes, threads {args.threads}")
    tot = {"bf16": [0.0, 0.0], "fp32": [0.0, 0.0]}
    with using_threads(args.threads):
        for name, (node, inputs) in grab.seen.items():
            c = {i: consts[v] for i, v in enumerate(node.inputs) if v in consts}
            kw = dict(node.attrs)
            fns = {"bf16": prepare_nchwc_1x1(node, c), "fp32": _prepare_conv(node, c)}
            times: dict[str, list[float]] = {"bf16": [], "fp32": []}
            for _ in range(args.reps):
                for k, fn in fns.items():
                    t0 = time.perf_counter_ns()
                    fn(*inputs, **kw)
                    times[k].append((time.perf_counter_ns() - t0) / 1e3)
            x, w = inputs[0], inputs[1]
            desc = f"{x.shape[1] * 8}x{x.shape[2]}x{x.shape[3]}->{w.shape[0]}"
            mins = {k: min(v) for k, v in times.items()}
            meds = {k: statistics.median(v) for k, v in times.items()}
            for k in tot:
                tot[k][0] += mins[k]
                tot[k][1] += meds[k]
            print(f"{name:28s} {desc:18s} bf16 {mins['bf16']:7.1f} / {meds['bf16']:7.1f}  "
                  f"fp32 {mins['fp32']:7.1f} / {meds['fp32']:7.1f}  "
                  f"min ratio {mins['bf16'] / mins['fp32']:.2f}")  # fmt: skip
    print(
        f"sum (min / median us): bf16 {tot['bf16'][0]:.0f} / {tot['bf16'][1]:.0f}, "
        f"fp32 {tot['fp32'][0]:.0f} / {tot['fp32'][1]:.0f}; load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
