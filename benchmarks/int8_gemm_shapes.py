"""The 8-bit GEMM (gk_q8_gemm: packed operands in, requantised bytes out, the epilogue included)
at MobileNetV2's 1x1 convolution shapes (M = output channels, K = input channels, N = pixels;
s8 weights per output channel, u8 activations, u8 output, per-row multiplier and bias), one
thread. With --base DIR, the same shapes also run in DIR's tree (its own venv, its own build), the
two processes interleaved turn by turn; the fastest time of each shape per tree is printed, with
the load average. Not a test: nothing is asserted.

    .venv/bin/python benchmarks/int8_gemm_shapes.py --base /tmp/base14 --turns 7
    .venv/bin/python benchmarks/int8_gemm_shapes.py --core 1      # the VNNI core instead of AMX
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# (name, M = Cout, K = Cin, N = H * W)
SHAPES = [
    ("pw 16->96 @112", 96, 16, 112 * 112),
    ("pw 32->16 @112", 16, 32, 112 * 112),
    ("pw 96->24 @56", 24, 96, 56 * 56),
    ("pw 24->144 @56", 144, 24, 56 * 56),
    ("pw 144->24 @56", 24, 144, 56 * 56),
    ("pw 32->192 @28", 192, 32, 28 * 28),
    ("pw 192->32 @28", 32, 192, 28 * 28),
    ("pw 64->384 @14", 384, 64, 14 * 14),
    ("pw 384->64 @14", 64, 384, 14 * 14),
    ("pw 96->576 @14", 576, 96, 14 * 14),
    ("pw 160->960 @7", 960, 160, 7 * 7),
    ("pw 320->1280 @7", 1280, 320, 7 * 7),
]


def _worker(core: int, turns: int, reps: int) -> dict[str, float]:
    import numpy as np
    from gossamer.cython_kernels._native import ext

    e = ext()
    e.q8_set_core(core)
    rng = np.random.default_rng(0)
    best: dict[str, float] = {}
    cases = []
    for name, m, k, n in SHAPES:
        a = rng.integers(-127, 128, (m, k)).astype(np.int8)
        b = rng.integers(0, 256, (k, n)).astype(np.uint8)
        ap = np.empty(e.q8_packed_size(m, k), np.uint8)
        bp = np.empty(e.q8_packed_size(n, k), np.uint8)
        sa = np.empty(m, np.int32)
        e.q8_pack_a(a.view(np.uint8), 1, 1, sa, ap, 1)
        e.q8_pack_b(b, 0, 0, None, bp, 1)
        mult = (rng.random(m) * 2e-3 + 1e-4).astype(np.float32)
        bias = rng.integers(-5000, 5000, m).astype(np.int32)
        ep = e.QEpilogue(0, mult, 1, 0, bias, 1, 0, 3.0)
        out = np.empty((m, n), np.uint8)
        za = np.zeros(1, np.int32)
        zb = np.full(1, 7, np.int32)
        cases.append((name, m, n, k, ap, bp, out, ep, za, zb, sa))
    for _ in range(turns):
        for name, m, n, k, ap, bp, out, ep, za, zb, sa in cases:
            for _ in range(reps):
                t0 = time.perf_counter()
                e.q8_gemm(m, n, k, ap, 1, bp, 0, out, ep, za, zb, sa, None, 0, 0, 1)
                dt = time.perf_counter() - t0
                best[name] = min(best.get(name, 1e9), dt)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, help="another checkout (its .venv and build) to compare")
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20, help="timed calls per shape per turn")
    ap.add_argument("--core", type=int, default=2, help="2 AMX, 1 VNNI, 0 portable (a cap)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.core, args.turns, args.reps)))
        return
    here = Path(__file__).resolve().parent.parent
    trees = [("this", here)] + ([("base", args.base.resolve())] if args.base else [])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    load0 = os.getloadavg()
    best: dict[str, dict[str, float]] = {label: {} for label, _ in trees}
    for turn in range(args.turns):
        order = trees if turn % 2 == 0 else trees[::-1]
        for label, tree in order:
            cmd = [str(tree / ".venv" / "bin" / "python"), str(Path(__file__).resolve()),
                   "--worker", "--turns", "1", "--reps", str(args.reps),
                   "--core", str(args.core)]  # fmt: skip
            res = json.loads(subprocess.run(cmd, cwd=tree, env=env, check=True,
                                            capture_output=True, text=True).stdout)  # fmt: skip
            for name, t in res.items():
                best[label][name] = min(best[label].get(name, 1e9), t)
    load1 = os.getloadavg()
    print(f"core cap {args.core}, 1 thread, fastest of {args.turns} x {args.reps} calls; "
          f"load {load0[0]:.2f} -> {load1[0]:.2f}")  # fmt: skip
    head = "| shape | this (us) |" + (" base (us) | this / base |" if args.base else "")
    print(head)
    print("|---|---|" + ("---|---|" if args.base else ""))
    for name, *_ in SHAPES:
        t = best["this"][name] * 1e6
        row = f"| {name} | {t:.1f} |"
        if args.base:
            b = best["base"][name] * 1e6
            row += f" {b:.1f} | {t / b:.2f} |"
        print(row)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
