"""The bf16 GEMM alone (`bf16_gemm_ep`: both operands packed, B hot; `bf16_gemm_a`: A rounded and
packed by the call, as the MatMul nodes run it) at MiniLM's, ResNet-18's and MobileNetV2's
shapes, with a bias + clip epilogue (--epilogue none: without), in T multiply-adds per second
(m * n * k, the true product, not the padded one).

    .venv/bin/python benchmarks/bf16_gemm_speed.py [--threads 1] [--reps 200] [--impl amx,vdp]
        [--so PATH] [--epilogue bias-clip|none]

--so loads another build of the extension (e.g. a copy of the baseline's `_ext*.so`) in place of
this tree's, so two builds can be compared by alternating runs of this script. Each figure is the
median and the best (p10) of `--reps` calls after 20 warm-up calls; the load (`os.getloadavg`) is
printed before and after. Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import statistics
import time

import numpy as np

# (name, m, n, k): MiniLM's token GEMMs (128 tokens) and ResNet-18's convs as GEMMs (A: the
# weights, out channels x cin * 9; B: the image, pixels)
SHAPES = [
    ("minilm qkv", 128, 384, 384),
    ("minilm ffn-up", 128, 1536, 384),
    ("minilm ffn-down", 128, 384, 1536),
    ("resnet18 64x56x56", 64, 3136, 576),
    ("resnet18 128x28x28", 128, 784, 1152),
    ("resnet18 256x14x14", 256, 196, 2304),
    ("resnet18 512x7x7", 512, 49, 4608),
    # MobileNetV2's 1x1 convs of few input channels (K 16, 24): bound by C's stores
    ("mobilenetv2 16->96 112x112", 96, 12544, 16),
    ("mobilenetv2 24->144 56x56", 144, 3136, 24),
]


def load_ext(so: str | None):
    if so is None:
        from gossamer.cython_kernels._native import ext

        return ext()
    spec = importlib.util.spec_from_file_location("_ext", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(fn, reps: int) -> tuple[float, float]:
    for _ in range(20):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times), times[len(times) // 10]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--impl", default="amx,vdp")
    ap.add_argument("--so", default=None)
    ap.add_argument("--epilogue", choices=("bias-clip", "none"), default="bias-clip")
    args = ap.parse_args()
    ext = load_ext(args.so)
    if not ext.bf16_cpu_native():
        raise SystemExit("this CPU has no AVX512_BF16")
    ext.bf16_set_impl("native")
    print(f"load {os.getloadavg()[0]:.2f}  so={args.so or 'this tree'}  threads={args.threads}")
    rng = np.random.default_rng(0)
    print(
        "| shape | m x n x k | impl | gemm_ep median / p10 ms | T MAC/s (median / p10) "
        "| gemm_a median ms | T MAC/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, m, n, k in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        ap_ = np.empty(ext.bf16_packed_a_size(m, k), np.uint32)
        bp = np.empty(ext.bf16_packed_b_size(k, n), np.uint32)
        ext.bf16_pack_a(a, ap_, 1)
        ext.bf16_pack_b(b, bp, 1)
        c = np.empty((m, n), np.float32)
        ep = ext.Epilogue()
        if args.epilogue == "bias-clip":  # a conv's bias and Relu6, as FusedConv runs it
            ep = ext.Epilogue(bias_row=rng.standard_normal(m, dtype=np.float32), clip=True,
                              lo=0.0, hi=6.0)  # fmt: skip
        for impl in args.impl.split(","):
            if ext.bf16_set_amx(impl == "amx") != (impl == "amx"):
                continue
            gemm_ep = functools.partial(ext.bf16_gemm_ep, m, n, k, ap_, bp, c, ep, args.threads)
            med, p10 = timed(gemm_ep, args.reps)
            gemm_a = functools.partial(ext.bf16_gemm_a, a, bp, n, c, ep, args.threads)
            med_a, _ = timed(gemm_a, args.reps)
            macs = m * n * k / 1e12
            print(
                f"| {name} | {m} x {n} x {k} | {impl} | {med * 1e3:.4f} / {p10 * 1e3:.4f} | "
                f"{macs / med:.3f} / {macs / p10:.3f} | {med_a * 1e3:.4f} | "
                f"{macs / med_a:.3f} |"
            )
        ext.bf16_set_amx(True)
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
