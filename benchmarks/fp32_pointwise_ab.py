"""ResNet-50's 1x1 convs (and its strided ones) as `conv_gemm` calls, split into packing B (the
im2col) and the product on pre-packed B, in two checkouts' extensions, interleaved (one worker
process per tree, turns alternating), so both see the same swings of the machine's speed.

    .venv/bin/python benchmarks/fp32_pointwise_ab.py --trees /tmp/base18,. --turns 6 --reps 30

Per tree and shape: the minimum and median over turns of each turn's minimum (us) for the whole
`conv_gemm`, `pack_b` alone and `gemm` on the packed B, and whether the outputs of the trees
are bit-identical (the first tree is the reference).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
from pathlib import Path

# (M, C, H, W, kernel, stride, pad): ResNet-50's 1x1 stride-1 convs at 56x56 and 28x28, one at
# 14x14, its strided 1x1 and 3x3 convs
SHAPES = [
    (64, 64, 56, 56, 1, 1, 0),
    (256, 64, 56, 56, 1, 1, 0),
    (64, 256, 56, 56, 1, 1, 0),
    (128, 256, 56, 56, 1, 1, 0),
    (128, 512, 28, 28, 1, 1, 0),
    (512, 128, 28, 28, 1, 1, 0),
    (256, 1024, 14, 14, 1, 1, 0),
    (512, 256, 56, 56, 1, 2, 0),
    (1024, 512, 28, 28, 1, 2, 0),
    (128, 128, 56, 56, 3, 2, 1),
    (256, 256, 28, 28, 3, 2, 1),
    (512, 512, 7, 7, 3, 1, 1),
]

_WORKER = r"""
import json, sys, time
import numpy as np
from gossamer.cython_kernels._native import ext
E = ext()
threads, reps = int(sys.argv[1]), int(sys.argv[2])
shapes = json.loads(sys.argv[3])
rng = np.random.default_rng(0)
cases = []
for m, c, h, w, kk, st, pd in shapes:
    oh, ow = (h + 2 * pd - kk) // st + 1, (w + 2 * pd - kk) // st + 1
    n, k = oh * ow, c * kk * kk
    a = rng.standard_normal((m, k), dtype=np.float32)
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    ap = np.zeros(E.packed_a_size(m, k), np.float32)
    E.pack_a(a, ap, 1)
    bp = np.zeros(E.packed_b_size(k, n), np.float32)
    y = np.zeros((m, n), np.float32)
    bias = rng.standard_normal(m, dtype=np.float32)
    cases.append((m, k, kk, st, pd, oh, ow, n, ap, x, bp, y, bias))
for line in sys.stdin:
    out = []
    for m, k, kk, st, pd, oh, ow, n, ap, x, bp, y, bias in cases:
        t = {"conv_gemm": 1e9, "pack_b": 1e9, "gemm": 1e9}
        for _ in range(reps):
            t0 = time.perf_counter()
            E.conv_gemm(ap, x, kk, kk, st, st, 1, 1, pd, pd, oh, ow, bp, y, bias, None, 0.0,
                        float("inf"), True, threads)
            t1 = time.perf_counter()
            t["conv_gemm"] = min(t["conv_gemm"], t1 - t0)
        ysum = float(np.frombuffer(y.tobytes(), np.uint32).astype(np.uint64).sum())
        for _ in range(reps):
            t0 = time.perf_counter()
            if (kk, st, pd) == (1, 1, 0):
                E.pack_b(x.reshape(k, n), bp, threads)
            else:
                E.pack_b_conv(x, kk, kk, st, st, 1, 1, pd, pd, oh, ow, bp, threads)
            t1 = time.perf_counter()
            t["pack_b"] = min(t["pack_b"], t1 - t0)
        bsum = float(np.frombuffer(bp.tobytes(), np.uint32).astype(np.uint64).sum())
        for _ in range(reps):
            t0 = time.perf_counter()
            E.gemm(m, n, k, ap, bp, y, bias, None, 0.0, float("inf"), True, threads)
            t1 = time.perf_counter()
            t["gemm"] = min(t["gemm"], t1 - t0)
        out.append({"t": t, "hash": ysum + bsum})
    print(json.dumps(out), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trees", default=".", help="checkouts, comma-separated (first: reference)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--shapes", default="", help="indices into SHAPES, comma-separated")
    args = ap.parse_args()
    shapes = [SHAPES[int(i)] for i in args.shapes.split(",")] if args.shapes else SHAPES
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    procs = []
    for tree in trees:
        py = tree / ".venv" / "bin" / "python"
        procs.append(subprocess.Popen(
            [str(py), "-c", _WORKER, str(args.threads), str(args.reps), json.dumps(shapes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/"))
    res: list[list[list[dict]]] = [[] for _ in trees]
    for turn in range(args.turns):
        order = list(range(len(trees)))
        if turn % 2:
            order.reverse()
        for i in order:
            procs[i].stdin.write("go\n")
            procs[i].stdin.flush()
            res[i].append(json.loads(procs[i].stdout.readline()))
    for p in procs:
        p.stdin.close()
        p.wait()
    print(f"load: {os.getloadavg()[0]:.2f}, threads {args.threads}, turns {args.turns}, "
          f"reps {args.reps}; us min / median of turn minima")
    for s, (m, c, h, w, kk, st, pd) in enumerate(shapes):
        oh, ow = (h + 2 * pd - kk) // st + 1, (w + 2 * pd - kk) // st + 1
        flop = 2.0 * m * c * kk * kk * oh * ow
        for i, tree in enumerate(trees):
            cells = []
            for key in ("conv_gemm", "pack_b", "gemm"):
                v = [r[s]["t"][key] * 1e6 for r in res[i]]
                cells.append(f"{key} {min(v):6.0f} / {statistics.median(v):6.0f}")
            g = min(r[s]["t"]["gemm"] for r in res[i])
            same = all(r[s]["hash"] == res[0][0][s]["hash"] for r in res[i])
            print(f"{m:4d}x{c:4d}x{h:2d}x{w:2d} k{kk}s{st} {tree.name[:8]:>8s}: " + "  ".join(cells)
                  + f"  gemm {flop / g * 1e-9:4.0f} GF/s  {'same' if same else 'DIFFERENT'}")

if __name__ == "__main__":
    main()
