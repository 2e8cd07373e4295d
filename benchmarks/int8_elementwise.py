"""QLinearAdd per node shape: Gossamer's C kernel alone (ext.qbinary on ready arrays) against
onnxruntime's com.microsoft QLinearAdd (a chain of --chain adds in one session, so its per-run
overhead is shared; Gossamer's chain alternates two outputs, as onnxruntime's arena reuses its
buffers), both at 1 and 2 threads, in one process, the engines alternating rep by rep.
--variants adds Gossamer settings to the same alternation: "general" (ext.qbinary_fast(0), the
kernels before the fast path), "plane<N>" (ext.qew_plane_min(N)), "general+plane<N>" both.
--whole runs the whole int8 models instead (int8_kernels.py's, QOperator), the variants
interleaved run by run in one session per model and thread count: the settings' effect in the
model, where the adds read inputs written long before (colder caches than the chain's).
The shapes are the residual adds of the int8 benchmark models (uint8 activations, as
int8_kernels.py quantises them). Times are per add, microseconds: median and minimum over --reps.
Not a test.

    .venv/bin/python benchmarks/int8_elementwise.py --models resnet18 --threads 1,2 --reps 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

SHAPES = {
    "resnet18": [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)],
    "resnet50": [(256, 56, 56), (512, 28, 28), (1024, 14, 14), (2048, 7, 7)],
    "mobilenet_v2": [(24, 56, 56), (32, 28, 28), (64, 14, 14), (96, 14, 14), (160, 7, 7)],
}
PARAMS = (0.031, 120, 0.027, 131, 0.043, 118)  # a_scale, a_zp, b_scale, b_zp, c_scale, c_zp


def ort_chain(shape: tuple[int, ...], chain: int, threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    sa, za, sb, zb, sc, zc = PARAMS
    inits = [numpy_helper.from_array(np.asarray(v, dtype), n) for v, dtype, n in (
        (sa, np.float32, "sa"), (za, np.uint8, "za"), (sb, np.float32, "sb"),
        (zb, np.uint8, "zb"), (sc, np.float32, "sc"), (zc, np.uint8, "zc"))]  # fmt: skip
    nodes, prev = [], "a"
    for k in range(chain):
        out = f"y{k}"
        nodes.append(helper.make_node("QLinearAdd", [prev, "sa", "za", "b", "sb", "zb", "sc", "zc"],
                                      [out], domain="com.microsoft"))  # fmt: skip
        prev = out
    full = (1, *shape)
    g = helper.make_graph(
        nodes, "qadd",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, full),
         helper.make_tensor_value_info("b", TensorProto.UINT8, full)],
        [helper.make_tensor_value_info(prev, TensorProto.UINT8, full)], inits)  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("com.microsoft", 1)])  # fmt: skip
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def set_variant(e, variant: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """applies variant (default, general, plane<N>, general+plane<N>); returns what was set"""
    before = e.qbinary_fast(), e.qew_plane_min()
    for part in variant.split("+"):
        if part == "general":
            e.qbinary_fast(0)
        elif part.startswith("plane"):
            e.qew_plane_min(int(part[5:]))
    return before


def whole(e, args) -> None:  # type: ignore[no-untyped-def]
    import int8_kernels as ik
    import onnx

    import gossamer

    names = ["default", *[v for v in args.variants.split(",") if v]]
    print(f"whole int8 models, ms per run (median / min of {args.reps}), load "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    for model in args.models.split(","):
        fp32, int8 = ik.quantised(model)
        feeds = ik.feeds(onnx.load(str(fp32)))
        for t in (int(x) for x in args.threads.split(",")):
            sess = gossamer.load(str(int8), backends=["cython"], threads=t)
            times: dict[str, list[float]] = {v: [] for v in names}
            for rep in range(5 + args.reps):
                for v in names:
                    before = set_variant(e, v)
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    if rep >= 5:
                        times[v].append((time.perf_counter() - t0) * 1e3)
                    e.qbinary_fast(before[0])
                    e.qew_plane_min(before[1])
            cells = " | ".join(f"{v} {statistics.median(x):.3f} / {min(x):.3f}"
                               for v, x in times.items())  # fmt: skip
            print(f"| {model} | {t} | {cells} |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


def run_chain(e, variant, a, b, ys, params, t, plane, chain) -> None:  # type: ignore[no-untyped-def]
    """chain adds y = a + b, y = y + b, ... into the two buffers ys, under variant"""
    fast, pmin = set_variant(e, variant)
    prev = a.reshape(-1)
    for k in range(chain):
        y = ys[k % 2].reshape(-1)
        e.qbinary(0, prev, b.reshape(-1), 0, *params, 0, 0, y, t, plane)
        prev = y
    e.qbinary_fast(fast)
    e.qew_plane_min(pmin)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--chain", type=int, default=8)
    ap.add_argument("--variants", default="", help="comma list: general, plane<N>")
    ap.add_argument("--whole", action="store_true", help="whole models, variants interleaved")
    args = ap.parse_args()
    from gossamer.cython_kernels._native import ext
    from gossamer.cython_kernels.qelementwise_kernels import _add_params

    e = ext()
    if args.whole:
        whole(e, args)
        return
    sa, za, sb, zb, sc, zc = PARAMS
    rng = np.random.default_rng(0)
    print(f"QLinearAdd, us per add (median / min of {args.reps}), chain {args.chain}, load "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print("| model | shape | threads | gossamer kernel: variant median / min (ratio to "
          "onnxruntime's median) ... | onnxruntime |")  # fmt: skip
    for model in args.models.split(","):
        for shape in SHAPES[model]:
            a = rng.integers(0, 256, (1, *shape), dtype=np.uint8)
            b = rng.integers(0, 256, (1, *shape), dtype=np.uint8)
            ra, rb, fixed, *_ = _add_params(
                a, np.float32(sa), np.uint8(za), b, np.float32(sb), np.uint8(zb),
                np.float32(sc), np.uint8(zc))  # fmt: skip
            ys = [np.empty_like(a) for _ in range(2)]
            params = (ra, rb, fixed)
            plane = shape[1] * shape[2]
            for t in (int(x) for x in args.threads.split(",")):
                sess = ort_chain(shape, args.chain, t)
                feeds = {"a": a, "b": b}
                names = ["default", *[v for v in args.variants.split(",") if v]]
                times: dict[str, list[float]] = {v: [] for v in [*names, "onnxruntime"]}

                for _ in range(5):
                    for v in names:
                        run_chain(e, v, a, b, ys, params, t, plane, args.chain)
                    sess.run(None, feeds)
                for _ in range(args.reps):
                    for v in names:
                        t0 = time.perf_counter()
                        run_chain(e, v, a, b, ys, params, t, plane, args.chain)
                        times[v].append((time.perf_counter() - t0) * 1e6 / args.chain)
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    times["onnxruntime"].append((time.perf_counter() - t0) * 1e6 / args.chain)
                mt = statistics.median(times["onnxruntime"])
                cells = " | ".join(f"{v} {statistics.median(times[v]):.1f} / {min(times[v]):.1f}"
                                   f" ({statistics.median(times[v]) / mt:.2f})"
                                   for v in names)  # fmt: skip
                print(f"| {model} | {'x'.join(map(str, shape))} | {t} | {cells} | "
                      f"{mt:.1f} / {min(times['onnxruntime']):.1f} |", flush=True)  # fmt: skip
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
