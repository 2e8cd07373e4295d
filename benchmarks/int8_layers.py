"""MobileNetV2's (or ResNet's) int8 convolution layers one at a time: Gossamer cython vs
onnxruntime.

Each layer is a one-node QLinearConv model (u8 activations, per-channel s8 weights, int32 bias,
MobileNetV2's shapes at 224x224); each engine's time is the fastest of --runs runs after 5
warm-up runs (the figure least disturbed by other processes on a shared machine), one process,
engines alternating per layer. Prints one row per layer and the totals; not a test.

    python benchmarks/int8_layers.py                  # 1 thread, every layer
    python benchmarks/int8_layers.py --threads 2 --only dw
    python benchmarks/int8_layers.py --set resnet --core vnni   # the 8-bit GEMM capped at VNNI

--core caps the 8-bit GEMM's core (src/qgemm.h gk_q8_*: amx, vnni, or int16: the int16-pair
GEMM and Winograd, as on a CPU without AVX512_VNNI); the default is the best this CPU has.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

# (label, input channels, input size, output channels, kernel, stride, group)
LAYERS = [
    ("pw 16->96 @112", 16, 112, 96, 1, 1, 1),
    ("pw 96->24 @56", 96, 56, 24, 1, 1, 1),
    ("pw 24->144 @56", 24, 56, 144, 1, 1, 1),
    ("pw 192->64 @14", 192, 14, 64, 1, 1, 1),
    ("pw 576->96 @14", 576, 14, 96, 1, 1, 1),
    ("pw 96->576 @14", 96, 14, 576, 1, 1, 1),
    ("pw 960->320 @7", 960, 7, 320, 1, 1, 1),
    ("pw 160->960 @7", 160, 7, 960, 1, 1, 1),
    ("pw 320->1280 @7", 320, 7, 1280, 1, 1, 1),
    ("dw 32 @112", 32, 112, 32, 3, 1, 32),
    ("dw 96 @112 s2", 96, 112, 96, 3, 2, 96),
    ("dw 144 @56", 144, 56, 144, 3, 1, 144),
    ("dw 192 @28", 192, 28, 192, 3, 1, 192),
    ("dw 576 @14", 576, 14, 576, 3, 1, 576),
    ("dw 960 @7", 960, 7, 960, 3, 1, 960),
    ("conv 3->32 @224 s2", 3, 224, 32, 3, 2, 1),
]
# ResNet-18/50's convolutions (one of each shape at 224x224)
RESNET = [
    ("conv 3->64 7x7 s2", 3, 224, 64, 7, 2, 1),
    ("3x3 64 @56", 64, 56, 64, 3, 1, 1),
    ("3x3 128 @28", 128, 28, 128, 3, 1, 1),
    ("3x3 256 @14", 256, 14, 256, 3, 1, 1),
    ("3x3 512 @7", 512, 7, 512, 3, 1, 1),
    ("3x3 128 @56 s2", 128, 56, 128, 3, 2, 1),
    ("pw 64->256 @56", 64, 56, 256, 1, 1, 1),
    ("pw 256->64 @56", 256, 56, 64, 1, 1, 1),
    ("pw 512->128 @28", 512, 28, 128, 1, 1, 1),
    ("pw 1024->256 @14", 1024, 14, 256, 1, 1, 1),
    ("pw 2048->512 @7", 2048, 7, 512, 1, 1, 1),
]
CORES = {"int16": 0, "vnni": 1, "amx": 2}


def layer_model(rng: np.random.Generator, cin: int, size: int, cout: int, k: int, stride: int,
                group: int) -> bytes:  # fmt: skip
    import onnx
    from onnx import helper, numpy_helper

    consts = {
        "xs": np.array(0.02, np.float32), "xz": np.array(120, np.uint8),
        "w": rng.integers(-127, 128, (cout, cin // group, k, k)).astype(np.int8),
        "ws": (rng.random(cout) * 0.01 + 1e-3).astype(np.float32),
        "wz": np.zeros(cout, np.int8), "ys": np.array(0.05, np.float32),
        "yz": np.array(0, np.uint8), "b": rng.integers(-5000, 5000, cout).astype(np.int32),
    }  # fmt: skip
    node = helper.make_node("QLinearConv", ["x", *consts], ["y"], strides=[stride] * 2,
                            pads=[k // 2] * 4, group=group, kernel_shape=[k, k])  # fmt: skip
    x = helper.make_tensor_value_info("x", onnx.TensorProto.UINT8, [1, cin, size, size])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, None)
    inits = [numpy_helper.from_array(v, name) for name, v in consts.items()]
    graph = helper.make_graph([node], "layer", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def fastest(session: object, feed: dict[str, np.ndarray], runs: int) -> float:
    run: Callable[[], object] = lambda: session.run(None, feed)  # type: ignore[attr-defined]  # noqa: E731
    for _ in range(5):
        run()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--only", default="", help="comma-separated label substrings (e.g. dw,@7)")
    p.add_argument("--set", choices=["mobilenet", "resnet"], default="mobilenet")
    p.add_argument("--core", choices=list(CORES), default="", help="cap the 8-bit GEMM's core")
    args = p.parse_args()
    import onnxruntime as ort
    from gossamer.cython_kernels._native import ext

    import gossamer

    if args.core:
        ext().q8_set_core(CORES[args.core])
    print(f"8-bit GEMM core: {ext().q8_core()} (0: int16-pair GEMM, 1: VNNI, 2: AMX)")
    rng = np.random.default_rng(0)
    only = [o for o in args.only.split(",") if o]
    total_g = total_o = 0.0
    for label, cin, size, cout, k, stride, group in RESNET if args.set == "resnet" else LAYERS:
        if only and not any(o in label for o in only):
            continue
        model = layer_model(rng, cin, size, cout, k, stride, group)
        feed = {"x": rng.integers(0, 256, (1, cin, size, size)).astype(np.uint8)}
        ours = gossamer.load(model, backends=["cython"], threads=args.threads, optimize=0)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = args.threads, 1
        theirs = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        g = fastest(ours, feed, args.runs)
        o = fastest(theirs, feed, args.runs)
        total_g, total_o = total_g + g, total_o + o
        print(f"{label:20s} gossamer {g:7.3f} ms  onnxruntime {o:7.3f} ms  ratio {g / o:5.2f}",
              flush=True)  # fmt: skip
    print(f"total: gossamer {total_g:.3f} ms, onnxruntime {total_o:.3f} ms")


if __name__ == "__main__":
    main()
