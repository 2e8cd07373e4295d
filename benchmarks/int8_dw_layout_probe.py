"""Probe: what MobileNetV2's int8 depthwise layers would save with channels-last activations.

Builds benchmarks/int8_dw_layout_probe.c (the 16-channel depthwise kernel of
src/qdw_q8_kernels.inc restated with an NCHW and an NHWC variant: the same sums and
requantisation, without the NHWC variant's 16 x 16 byte transposes and output stage) with gcc
-O2 -march=native, runs the 17 depthwise layers of MobileNetV2 (224 x 224 input) on one thread,
the two variants interleaved rep by rep, and prints per layer and in total the minimum and median
times and whether the NHWC output is the NCHW output transposed. Needs AVX512_VNNI.

    .venv/bin/python benchmarks/int8_dw_layout_probe.py --reps 60
    .venv/bin/python benchmarks/int8_dw_layout_probe.py --pointwise --reps 60

--pointwise times MobileNetV2's 34 1x1 convolutions on the extension's own 8-bit GEMM (one
thread, interleaved) both ways: NCHW as the extension runs them (the activations packed as B from
their planes by q8_pack_b_conv, weights as A, output channel planes) and NHWC (the activations'
pixel rows packed as A by q8_pack_a, weights as B, output pixel rows of channels), the same byte
epilogue; outputs compared (one the other's transpose).

Not a test: nothing is asserted. The NCHW variant's time can be set against the extension's own
(benchmarks/int8_layers.py --only dw) to see that the restated kernel runs at its speed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

# (channels, input size, stride) of MobileNetV2's depthwise 3x3 convs, pad 1
LAYERS = [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (192, 28, 1),
          (192, 28, 2), (384, 14, 1), (384, 14, 1), (384, 14, 1), (384, 14, 1), (576, 14, 1),
          (576, 14, 1), (576, 14, 2), (960, 7, 1), (960, 7, 1), (960, 7, 1)]  # fmt: skip


# (input channels, output channels, size) of MobileNetV2's 1x1 convs
POINTWISE = [(32, 16, 112), (16, 96, 112), (96, 24, 56), (24, 144, 56), (144, 24, 56),
             (24, 144, 56), (144, 32, 28), (32, 192, 28), (192, 32, 28), (32, 192, 28),
             (192, 32, 28), (32, 192, 28), (192, 64, 14)] + [(64, 384, 14), (384, 64, 14)] * 3 + [
             (64, 384, 14), (384, 96, 14)] + [(96, 576, 14), (576, 96, 14)] * 2 + [
             (96, 576, 14), (576, 160, 7)] + [(160, 960, 7), (960, 160, 7)] * 2 + [
             (160, 960, 7), (960, 320, 7), (320, 1280, 7)]  # fmt: skip


def pointwise(reps: int) -> None:
    """The 1x1 convs NCHW (as the extension) and NHWC on the extension's GEMM, one thread."""
    import gossamer.cython_kernels  # noqa: F401  (loads the extension's kernel tables)
    from gossamer.cython_kernels._native import ext

    rng = np.random.default_rng(0)
    load0 = open("/proc/loadavg").read().split()[0]
    print(f"MobileNetV2 int8 1x1 convs on the 8-bit GEMM (core {ext().q8_set_core(-1)}), "
          f"1 thread, {reps} reps, load {load0}")  # fmt: skip
    print("| layer | NCHW min / median us | NHWC min / median us | NHWC / NCHW (min) | equal |")
    print("|---|---|---|---|---|")
    tot = np.zeros(4)
    for ci, co, s in POINTWISE:
        hw, zx = s * s, 3
        x = rng.integers(0, 256, (ci, hw)).astype(np.uint8)
        xl, x3 = np.ascontiguousarray(x.T), x.reshape(ci, s, s)
        w = rng.integers(-127, 128, (co, ci)).astype(np.int8)
        mult = (rng.random(co) * 1e-3 + 1e-4).astype(np.float32)
        bias = rng.integers(-5000, 5000, co).astype(np.int32)
        # NCHW: weights A (s8), activations B (u8); zero point zx of B: - zx * row sums of A
        wa = np.empty(ext().q8_packed_size(co, ci), np.uint8)
        sa = np.empty(co, np.int32)
        ext().q8_pack_a(w.view(np.uint8), 1, 1, sa, wa, 1)
        ep_r = ext().QEpilogue(0, mult, 1, 0, bias, 1, 0, 7.0)
        bp = np.empty(ext().q8_packed_size(hw, ci), np.uint8)
        y = np.empty((co, hw), np.uint8)
        # NHWC: activations A (u8), weights B (s8); zero point zx of A: - zx * column sums of B
        wb = np.empty(ext().q8_packed_size(co, ci), np.uint8)
        sb = np.empty(co, np.int32)
        ext().q8_pack_b(np.ascontiguousarray(w.T).view(np.uint8), 1, 1, sb, wb, 1)
        ep_c = ext().QEpilogue(0, mult, 0, 1, bias, 0, 1, 7.0)
        ap = np.empty(ext().q8_packed_size(hw, ci), np.uint8)
        yl = np.empty((hw, co), np.uint8)
        zv = np.full(1, zx, np.int32)

        times: list[list[float]] = [[], []]
        for r in range(reps + 3):
            for v in (r % 2, 1 - r % 2):
                t0 = time.perf_counter_ns()
                if v == 0:
                    ext().q8_pack_b_conv(x3, 0, 1, 1, 1, 1, 1, 1, 0, 0, s, s, zx, 0, None, bp, 1)
                    ext().q8_gemm(co, hw, ci, wa, 1, bp, 0, y, ep_r, None, zv, sa, None, 0, 0, 1)
                else:
                    ext().q8_pack_a(xl, 0, 0, None, ap, 1)
                    ext().q8_gemm(hw, co, ci, ap, 0, wb, 1, yl, ep_c, zv, None, None, sb, 0, 0, 1)
                if r >= 3:
                    times[v].append((time.perf_counter_ns() - t0) / 1e3)
        ts = [f(t) for t in times for f in (min, statistics.median)]
        tot += ts
        eq = np.array_equal(y, yl.T)
        print(f"| {ci}->{co} @{s} | {ts[0]:.1f} / {ts[1]:.1f} | {ts[2]:.1f} / {ts[3]:.1f} | "
              f"{ts[2] / ts[0]:.2f} | {'yes' if eq else 'NO'} |")  # fmt: skip
    print(f"| total | {tot[0]:.0f} / {tot[1]:.0f} | {tot[2]:.0f} / {tot[3]:.0f} | "
          f"{tot[2] / tot[0]:.2f} | |")  # fmt: skip
    print(f"load after: {open('/proc/loadavg').read().split()[0]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--pointwise", action="store_true", help="the 1x1 convs instead")
    args = ap.parse_args()
    if args.pointwise:
        pointwise(args.reps)
        return
    src = Path(__file__).with_suffix(".c")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "probe"
        subprocess.run(["gcc", "-O2", "-march=native", "-o", str(exe), str(src)], check=True)
        feed = "".join(f"{c} {s} {s} 3 {st} 1\n" for c, s, st in LAYERS)
        load0 = open("/proc/loadavg").read().split()[0]
        out = subprocess.run([str(exe), str(args.reps)], input=feed, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        load1 = open("/proc/loadavg").read().split()[0]
    print(f"MobileNetV2 int8 depthwise layers, 1 thread, {args.reps} reps, load {load0} -> {load1}")
    print("| layer | NCHW min / median us | NHWC min / median us | NHWC / NCHW (min) | equal |")
    print("|---|---|---|---|---|")
    tot = [0.0, 0.0, 0.0, 0.0]
    for line in out.split("\n"):
        if not line.strip():
            continue
        c, h, _w, _k, s, *t, eq = line.split()
        ts = [float(v) / 1e3 for v in t]
        tot = [a + b for a, b in zip(tot, ts, strict=True)]
        print(f"| {c} @{h} s{s} | {ts[0]:.1f} / {ts[1]:.1f} | {ts[2]:.1f} / {ts[3]:.1f} | "
              f"{ts[2] / ts[0]:.2f} | {'yes' if eq == '1' else 'NO'} |")  # fmt: skip
    print(f"| total | {tot[0]:.0f} / {tot[1]:.0f} | {tot[2]:.0f} / {tot[3]:.0f} | "
          f"{tot[2] / tot[0]:.2f} | |")  # fmt: skip


if __name__ == "__main__":
    main()
