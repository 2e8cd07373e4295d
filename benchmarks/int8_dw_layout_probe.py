"""Probe: what MobileNetV2's int8 depthwise layers would save with channels-last activations.

Builds benchmarks/int8_dw_layout_probe.c (the 16-channel depthwise kernel of
src/qdw_q8_kernels.inc restated with an NCHW and an NHWC variant: the same sums and
requantisation, without the NHWC variant's 16 x 16 byte transposes and output stage) with gcc
-O2 -march=native, runs the 17 depthwise layers of MobileNetV2 (224 x 224 input) on one thread,
the two variants interleaved rep by rep, and prints per layer and in total the minimum and median
times and whether the NHWC output is the NCHW output transposed. Needs AVX512_VNNI.

    .venv/bin/python benchmarks/int8_dw_layout_probe.py --reps 60

Not a test: nothing is asserted. The NCHW variant's time can be set against the extension's own
(benchmarks/int8_layers.py --only dw) to see that the restated kernel runs at its speed.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

# (channels, input size, stride) of MobileNetV2's depthwise 3x3 convs, pad 1
LAYERS = [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (192, 28, 1),
          (192, 28, 2), (384, 14, 1), (384, 14, 1), (384, 14, 1), (384, 14, 1), (576, 14, 1),
          (576, 14, 1), (576, 14, 2), (960, 7, 1), (960, 7, 1), (960, 7, 1)]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=60)
    args = ap.parse_args()
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
