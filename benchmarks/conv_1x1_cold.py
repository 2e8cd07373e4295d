"""One 1x1 conv (`conv_gemm`, bias and Relu) at a time with its input cold, run-time switches of
the cython backend alternated call by call in one process: per variant the minimum and 25th
percentile (us), and whether every variant gives the same bits on one input.

    .venv/bin/python benchmarks/conv_1x1_cold.py --threads 1 --calls 60 \\
        --variant "old=ext().gemm_tune_narrow(0)" --variant "new=ext().gemm_tune_narrow(256)"

Each variant is `name=python statement` run before each of its calls, with `ext` in scope. The
inputs rotate over --copies planes, a different one for every call (so no variant reads the plane
the one before it warmed: ResNet-50's 56x56 planes are 3.2 MB, a core's L2 2 MiB), as the model's
convs read the previous layer's output. Shapes are `c,m,hw` (input channels, output channels,
plane side); the defaults are ResNet-50's 1x1 convs. `--stride 2` runs them with that stride
(ResNet's downsamples: "64,128,56;128,256,28;256,512,14"). Not a test: only the bits are checked.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

SHAPES = "256,64,56;64,256,56;256,128,56;512,128,28;128,512,28;1024,256,14;256,1024,14"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default=SHAPES, help="c,m,hw;c,m,hw;...")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calls", type=int, default=60, help="calls per variant and shape")
    ap.add_argument("--copies", type=int, default=16, help="input planes rotated over")
    ap.add_argument("--stride", type=int, default=1, help="the convs' stride (both axes)")
    ap.add_argument("--variant", action="append", required=True, help="name=statement")
    args = ap.parse_args()

    variants = [tuple(v.split("=", 1)) for v in args.variant]
    rng = np.random.default_rng(0)
    print(f"{args.threads} thread(s), {args.calls} calls each, load {os.getloadavg()[0]:.2f}")
    for spec in args.shapes.split(";"):
        c, m, hw = (int(v) for v in spec.split(","))
        times, same = time_shape(c, m, hw, variants, args, rng)
        cells = " | ".join(
            f"{name} {min(t):.0f} / {np.percentile(t, 25):.0f}" for name, t in times.items()
        )
        bits = "same" if same else "DIFF"
        print(f"{c} -> {m} at {hw}x{hw} (min / p25 us): {cells} | {bits} bits")


def time_shape(c, m, hw, variants, args, rng):
    """per variant its call times (us), and whether all variants give the same bits"""
    from gossamer.cython_kernels._native import ext

    s = args.stride
    o = (hw - 1) // s + 1  # the output plane's side
    n = o * o
    ap = np.zeros(ext().packed_a_size(m, c), np.float32)
    ext().pack_a(rng.standard_normal((m, c)).astype(np.float32) * 0.1, ap, 1)
    xs = [rng.standard_normal((c, hw, hw)).astype(np.float32) for _ in range(args.copies)]
    ys = [np.empty((m, n), np.float32) for _ in range(args.copies)]
    bp = np.zeros(((n + 15) // 16) * 16 * c, np.float32)
    bias = rng.standard_normal(m).astype(np.float32)

    def conv(x, y):
        ext().conv_gemm(
            ap, x, 1, 1, s, s, 1, 1, 0, 0, o, o, bp, y, bias, None, 0.0, np.inf, True,
            args.threads,
        )  # fmt: skip

    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    call = 0
    for _ in range(args.calls):
        for name, stmt in variants:
            exec(stmt, {"ext": ext})
            i = call % args.copies
            call += 1
            t0 = time.perf_counter()
            conv(xs[i], ys[i])
            times[name].append((time.perf_counter() - t0) * 1e6)
    outs = []
    for _name, stmt in variants:
        exec(stmt, {"ext": ext})
        conv(xs[0], ys[0])
        outs.append(ys[0].copy())
    return times, all(np.array_equal(o, outs[0]) for o in outs)


if __name__ == "__main__":
    main()
