"""The bf16 hand-off (gk_bf16_conv_direct_ex, AMX) on ResNet-18's basic blocks: conv1 (3x3,
bias, ReLU) then conv2 (3x3, bias, residual, ReLU) as two direct convs through a float32 tensor
(conv1 writes float32 NCHW, conv2 rounds it into its pair planes) against conv1 writing conv2's
pair planes itself and conv2 reading them as they are; interleaved pair by pair in one process.

    .venv/bin/python benchmarks/bf16_handoff_layers.py [--threads 1,2] [--reps 60]

Microseconds of the two convs, min and median, and the median of the per-pair ratios hand-off /
float32; the load before and after. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

F32 = np.float32
BLOCKS = [(64, 56, 1), (128, 28, 1), (256, 14, 1), (512, 7, 1), (128, 56, 2)]  # m, input hw, s1


def _packed(e, w: np.ndarray) -> np.ndarray:  # noqa: ANN001 - the extension module
    from gossamer.cython_kernels.bf16_matmul import pack_a

    m, c, kh, kw = w.shape
    wr = np.zeros((m, kh, kw, e.bf16_conv_cpad(c)), F32)
    wr[..., :c] = w.transpose(0, 2, 3, 1)
    return pack_a(wr.reshape(m, -1))


def _block(e, rng, m: int, hw: int, s1: int, threads: int):  # noqa: ANN001, ANN202
    c = m // s1
    oh = (hw + 2 - 3) // s1 + 1
    x = rng.standard_normal((c, hw, hw)).astype(F32)
    w1, w2 = _packed(e, rng.standard_normal((m, c, 3, 3)).astype(F32) * 0.05), _packed(
        e, rng.standard_normal((m, m, 3, 3)).astype(F32) * 0.05)  # fmt: skip
    b1, b2 = rng.standard_normal(m).astype(F32), rng.standard_normal(m).astype(F32)
    z = rng.standard_normal((m, oh * oh)).astype(F32)
    p1 = np.zeros(e.bf16_conv_planes_size(c, 3, 3, s1, s1, 1, 1, oh, oh), np.uint32)
    p2 = np.zeros(e.bf16_conv_planes_size(m, 3, 3, 1, 1, 1, 1, oh, oh), np.uint32)
    y1, y2 = np.empty((m, oh * oh), F32), np.empty((m, oh * oh), F32)
    ep1 = e.Epilogue(bias_row=b1, clip=True, lo=0.0)
    ep2 = e.Epilogue(bias_row=b2, residual=z, clip=True, lo=0.0)
    geo1 = (3, 3, s1, s1, 1, 1, 1, 1, oh, oh)
    geo2 = (3, 3, 1, 1, 1, 1, 1, 1, oh, oh)

    def float32() -> None:
        e.bf16_conv_direct(x, *geo1, w1, p1, y1, ep1, threads)
        e.bf16_conv_direct(y1.reshape(m, oh, oh), *geo2, w2, p2, y2, ep2, threads)

    def handoff() -> None:
        e.bf16_conv_direct_ex(x, c, hw, hw, *geo1, m, w1, p1, None, p2, 1, 1, oh + 2, oh + 2,
                              ep1, threads)  # fmt: skip
        e.bf16_conv_direct_ex(None, m, oh, oh, *geo2, m, w2, p2, y2, None, 0, 0, 0, 0, ep2,
                              threads)  # fmt: skip

    return float32, handoff, y2


def main() -> None:
    from gossamer.cython_kernels._native import ext
    from gossamer.cython_kernels.bf16_mode import select_bf16_impl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=60)
    args = ap.parse_args()
    select_bf16_impl()
    e = ext()
    if not e.bf16_amx():
        raise SystemExit("the AMX tiles are not in use here: the direct conv does not run")
    print(f"load before: {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    for threads in [int(t) for t in args.threads.split(",")]:
        for m, hw, s1 in BLOCKS:
            f32, hand, y2 = _block(e, rng, m, hw, s1, threads)
            f32()
            ref = y2.copy()
            hand()
            same = np.array_equal(ref, y2)
            ta, tb = [], []
            for _ in range(args.reps):
                for fn, acc in ((f32, ta), (hand, tb)):
                    t0 = time.perf_counter()
                    fn()
                    acc.append((time.perf_counter() - t0) * 1e6)
            ratio = float(np.median(np.array(tb) / np.array(ta)))
            print(f"threads {threads} block {m} ch, {hw}x{hw} s{s1}: float32 "
                  f"{min(ta):.0f} / {np.median(ta):.0f} us, hand-off {min(tb):.0f} / "
                  f"{np.median(tb):.0f} us, ratio {ratio:.3f}, same bits {same}")  # fmt: skip
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
