"""Per conv layer, fp32: gossamer's time and GFLOP/s against onnxruntime's node time and one core's
measured FMA peak, with the path each layer takes (1x1 packed GEMM / 1x1 B in place, im2col GEMM,
Winograd F(4x4) / F(2x2), the direct stem kernel, depthwise, NCHWc).

    .venv/bin/python benchmarks/fp32_conv_layers.py --models resnet50,resnet18,squeezenet1_1 \
        --threads 1 --reps 20

Gossamer runs node by node (an observer times each node, so its times include ~5 us of Python
dispatch per node); onnxruntime's times are its profiler's kernel times. The two engines' runs
alternate, so both see the same swings of the machine's speed. Layers are matched by
(input shape, weight shape, output shape) and their order among equal keys. The peak is a loop
of 16 independent zmm (or ymm without AVX-512) FMAs compiled with the system's C compiler: what
one core sustains at its current clock, not a nominal figure. The machine is shared: the load is
printed; per-layer medians hide the preemptions a whole run takes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bf16_speed import feeds_of, spec_of  # noqa: E402
from fp32_node_profile import ort_profiling_session  # noqa: E402

_FMA_LOOP = r"""
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(void) {
#ifdef __AVX512F__
    typedef __m512 V;
#define SET _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define LANES 16
#else
    typedef __m256 V;
#define SET _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define LANES 8
#endif
    V a[16], b = SET(1.0000001f), c = SET(1e-9f);
    for (int i = 0; i < 16; i++) a[i] = SET((float)i);
    long n = 100000000;
    double best = 1e9;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        for (long k = 0; k < n / 16; k++) {
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) a[i] = FMA(a[i], b, c);
            __asm__ volatile("" ::"v"(a[0]), "v"(a[7]), "v"(a[15]));
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    float s = 0;
    float *f = (float *)a;
    for (int i = 0; i < 16 * LANES; i++) s += f[i];
    printf("%f %d %g\n", n * 2.0 * LANES / best / 1e9, LANES, s);
    return 0;
}
"""


def fma_peak() -> tuple[float, int]:
    """One core's FMA throughput in GFLOP/s (a multiply-add is 2 flops) and the vector's lanes."""
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "fma.c", Path(d) / "fma"
        src.write_text(_FMA_LOOP)
        subprocess.run(["cc", "-O2", "-march=native", "-o", str(exe), str(src)], check=True)
        gflops, lanes, _ = subprocess.run([str(exe)], capture_output=True, text=True,
                                          check=True).stdout.split()  # fmt: skip
    return float(gflops), int(lanes)


STAT = statistics.median  # per layer over the reps (--stat)
Layer = dict  # name, op, x, w, y, group, stride, path, us (median), macs


def _macs(x: tuple, w: tuple, y: tuple, group: int) -> int:
    return int(np.prod(y)) * int(np.prod(w[1:]))  # N*M*oh*ow * (C/g)*kh*kw


def _path(
    op: str, x: tuple, w: tuple, y: tuple, group: int, strides: tuple, pads: tuple, z: bool
) -> str:
    """The kernel path cython_kernels takes for this layer (conv_kernels._Conv.run's choice)."""
    from gossamer.cython_kernels import conv_kernels as ck
    from gossamer.cython_kernels._native import ext

    if op == "NchwcConv":
        kind = "dw" if group > 1 else f"{w[2]}x{w[3]}"
        return f"nchwc {kind}"
    m, cg, kh, kw = w
    if group > 1 and cg == 1 and m == group:
        return "depthwise"
    oh, ow = y[2], y[3]
    if group == 1 and (kh, kw) == (3, 3) and strides == (1, 1) and ck.WINOGRAD != "never":
        if x[1] >= 32 and m >= 16:
            if -(-oh // 4) * -(-ow // 4) >= 16:
                return "winograd f4"
            if -(-oh // 2) * -(-ow // 2) >= 16 and not ck._avx512_gemm():
                return "winograd f2"
    if group == 1 and cg <= ck.DIRECT_MAX_CIN:
        return "direct"
    (ph, pw), (sh, sw) = pads, strides
    if hasattr(ext(), "conv_b_mode"):
        mode = ext().conv_b_mode(m, x[0], cg, x[2], x[3], kh, kw, sh, sw, 1, 1, ph, pw, oh, ow, z)
    else:  # an older extension: src/conv.c's rule before conv_b_mode
        mode = int(strides == (1, 1) and not (cg * kh * kw > 256 and x[0] == 1))
    if mode:
        return f"{kh}x{kw} gemm B in place"
    return f"{kh}x{kw}/s{sh} {'1x1 packed' if (kh, kw, sh) == (1, 1, 1) else 'im2col'} gemm"


class _Marks:
    """An observer that times each node of one gossamer run."""

    def __init__(self) -> None:
        self.spans: list = []
        self.t0 = 0

    def before_node(self, node, inputs) -> None:
        self.t0 = time.perf_counter_ns()

    def after_node(self, node, inputs, outputs) -> None:
        us = (time.perf_counter_ns() - self.t0) / 1e3
        self.spans.append((node, [getattr(v, "shape", None) for v in inputs], outputs[0].shape, us))


def _our_layer(node, shapes: list, yshape: tuple) -> Layer:
    x, w, y = tuple(shapes[0]), tuple(shapes[1]), tuple(yshape)
    if len(y) == 5:  # NCHW8c: (N, M/8, H, W, 8) as NCHW
        y = (y[0], y[1] * y[4], y[2], y[3])
    if len(x) == 5:
        x = (x[0], x[1] * x[4], x[2], x[3])
    group = int(node.attrs.get("group", 1))
    strides = tuple(node.attrs.get("strides") or (1, 1))
    pads = tuple((node.attrs.get("pads") or (0, 0, 0, 0))[:2])
    z = len(shapes) > 4 and shapes[4] is not None
    return {"name": node.name, "op": node.op_type, "x": x, "w": w, "y": y, "group": group,
            "z": z, "macs": _macs(x, w, y, group),
            "path": _path(node.op_type, x, w, y, group, strides, pads, z)}  # fmt: skip


def profile_both(spec: dict, feeds: dict, threads: int, reps: int) -> tuple:
    """Both engines' whole-run medians and per-layer times, their runs interleaved (one of each
    per round) so that both see the same swings of the machine's speed."""
    import gossamer

    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads)
    osess = ort_profiling_session(spec["onnx"], threads, "fp32_conv_layers_ort")
    for _ in range(3):
        sess.run(None, feeds)
        osess.run(None, feeds)
    whole: dict[str, list[float]] = {"ours": [], "ort": []}
    per: dict[str, list[float]] = collections.defaultdict(list)
    layers: dict[str, Layer] = {}
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        t1 = time.perf_counter()
        osess.run(None, feeds)
        t2 = time.perf_counter()
        whole["ours"].append(t1 - t0)
        whole["ort"].append(t2 - t1)
        marks = _Marks()
        sess.run(None, feeds, observers=[marks])
        for node, shapes, yshape, us in marks.spans:
            if node.op_type in ("Conv", "FusedConv", "NchwcConv"):
                per[node.name].append(us)
                if node.name not in layers:
                    layers[node.name] = _our_layer(node, shapes, yshape)
    ours = []
    for name, layer in layers.items():
        layer["us"] = STAT(per[name])
        ours.append(layer)
    trace = Path(osess.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    oper: dict[str, list[float]] = collections.defaultdict(list)
    olayers: dict[str, Layer] = {}
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if e["args"].get("op_name") not in ("Conv", "FusedConv"):
            continue
        name = e["name"][: -len("_kernel_time")]
        oper[name].append(float(e["dur"]))
        if name not in olayers:
            ins = [next(iter(s.values())) for s in e["args"]["input_type_shape"]]
            y = tuple(next(iter(e["args"]["output_type_shape"][0].values())))
            olayers[name] = {"name": name, "x": tuple(ins[0]), "w": tuple(ins[1]), "y": y}
    theirs = []
    for name, layer in olayers.items():
        layer["us"] = STAT(oper[name][-reps:])  # the timed runs (warm-ups first)
        theirs.append(layer)
    ms = {k: STAT(v) * 1e3 for k, v in whole.items()}
    return ms["ours"], ours, ms["ort"], theirs


def match(ours: list, theirs: list) -> list[tuple[Layer, Layer | None]]:
    """Our layers in order, each with onnxruntime's layer of the same (x, w, y) shapes and the
    same rank among equal keys (None where it has none)."""
    queue: dict[tuple, list] = collections.defaultdict(list)
    for layer in theirs:
        queue[(layer["x"], layer["w"], layer["y"])].append(layer)
    pairs = []
    for layer in ours:
        q = queue.get((layer["x"], layer["w"], layer["y"]))
        pairs.append((layer, q.pop(0) if q else None))
    return pairs


def report(name: str, threads: int, peak: float, ours_ms: float, ort_ms: float, pairs: list,
           as_json: list) -> None:  # fmt: skip
    peak_t = peak * threads
    print(f"\n=== {name}, {threads} thread(s): whole run ours {ours_ms:.2f} ms, onnxruntime "
          f"{ort_ms:.2f} ms; peak {peak_t:.0f} GFLOP/s")  # fmt: skip
    print(f"{'layer':>10} {'x':>16} {'w':>18} {'y':>16} {'path':>22} {'MFLOP':>7} "
          f"{'ours us':>8} {'GF/s':>6} {'%pk':>4} {'ort us':>8} {'GF/s':>6} {'%pk':>4} "
          f"{'ratio':>5}")  # fmt: skip
    by_path: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    tot = [0.0, 0.0, 0.0]
    for ours, theirs in pairs:
        mflop = 2 * ours["macs"] / 1e6
        gf = mflop / ours["us"] * 1e3  # MFLOP/us is TFLOP/s
        tus = theirs["us"] if theirs else float("nan")
        tgf = mflop / tus * 1e3 if theirs else float("nan")
        print(f"{ours['name'][-10:]:>10} {str(ours['x']):>16} {str(ours['w']):>18} "
              f"{str(ours['y']):>16} {ours['path']:>22} {mflop:7.1f} {ours['us']:8.1f} "
              f"{gf:6.1f} {100 * gf / peak_t:4.0f} {tus:8.1f} {tgf:6.1f} "
              f"{100 * tgf / peak_t:4.0f} {ours['us'] / tus:5.2f}")  # fmt: skip
        b = by_path[ours["path"]]
        b[0] += ours["us"]
        b[1] += tus if theirs else 0.0
        b[2] += mflop
        tot[0] += ours["us"]
        tot[1] += tus if theirs else 0.0
        tot[2] += mflop
        as_json.append({"model": name, "threads": threads, **{k: ours[k] for k in ours},
                        "ort_us": tus})  # fmt: skip
    print("  by path: ours ms / ort ms / GFLOP/s ours, ort (% of peak):")
    for path, (us, tus, mflop) in sorted(by_path.items(), key=lambda kv: -kv[1][0]):
        print(
            f"    {path:>22}: {us / 1e3:7.2f} / {tus / 1e3:7.2f} ms, {1e3 * mflop / us:6.1f} "
            f"({1e5 * mflop / us / peak_t:3.0f} %), {1e3 * mflop / tus:6.1f} "
            f"({1e5 * mflop / tus / peak_t:3.0f} %), gap {(us - tus) / 1e3:+.2f} ms"
        )
    print(f"    {'all convs':>22}: {tot[0] / 1e3:7.2f} / {tot[1] / 1e3:7.2f} ms, "
          f"{1e3 * tot[2] / tot[0]:6.1f} ({1e5 * tot[2] / tot[0] / peak_t:3.0f} %), "
          f"{1e3 * tot[2] / tot[1]:6.1f} ({1e5 * tot[2] / tot[1] / peak_t:3.0f} %), "
          f"{tot[2] / 1e3:.2f} GFLOP")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="resnet50")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="per layer over the reps (min: what a quiet moment gives)",
    )
    ap.add_argument("--json", help="write the per-layer rows here")
    args = ap.parse_args()
    global STAT
    STAT = min if args.stat == "min" else statistics.median
    peak, lanes = fma_peak()
    print(f"load before: {os.getloadavg()}; one core's FMA peak {peak:.1f} GFLOP/s "
          f"({lanes}-lane FMAs)")  # fmt: skip
    rows: list = []
    for name in args.models.split(","):
        spec = spec_of(name)
        feeds = feeds_of(spec)
        ours_ms, ours, ort_ms, theirs = profile_both(spec, feeds, args.threads, args.reps)
        peak = max(peak, fma_peak()[0])  # the VM's speed swings: the fastest seen
        report(name, args.threads, peak, ours_ms, ort_ms, match(ours, theirs), rows)
    print(f"load after: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
