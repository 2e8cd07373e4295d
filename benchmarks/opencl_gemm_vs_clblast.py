"""GEMM throughput of the opencl backend's tiled kernel vs CLBlast's SGEMM on the same OpenCL
device (PoCL's CPU device here), square and model-shaped sizes, float32.

Ours: a one-node MatMul model (A a graph input, B a constant: the weights of a layer) on
`backends=["opencl"]`, its partition's launches enqueued and finished (no host copies), best of
--repeats. CLBlast: `pyclblast.gemm` on the backend's own queue and device buffers, best of
--repeats (its first call per shape tunes nothing: it uses its database defaults; excluded).
The last column is our throughput over CLBlast's (above 1: ours is faster).
Not a test: nothing is asserted. Needs pyclblast (in no extra: `pip install pyclblast`, which
builds from its sdist against the CLBlast C library, Debian `libclblast-dev`).

    .venv/bin/python benchmarks/opencl_gemm_vs_clblast.py [--sizes 256,512,1024] [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import gossamer

# model-shaped (M, K, N): MiniLM's FFN and attention projections, a 1x1 conv of nudenet
SHAPES = [(128, 384, 1536), (128, 1536, 384), (128, 384, 384), (6400, 32, 32)]


def matmul_model(m: int, k: int, n: int) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    b = np.random.default_rng(0).standard_normal((k, n)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()  # type: ignore[no-any-return]


def ours(m: int, k: int, n: int, repeats: int) -> tuple[float, object]:
    a = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    sess = gossamer.load(matmul_model(m, k, n), backends=["opencl"])
    sess.run(None, {"a": a})
    part = next(o.impl for o in sess._program.overrides.values() if o.partition)  # noqa: SLF001
    cl, queue = part.device.cl, part.device.queue
    plan = part.plans()[0]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for kernel, gsize, local in plan.enqueue:
            cl.enqueue_nd_range_kernel(queue, kernel, gsize, local)
        queue.finish()
        best = min(best, time.perf_counter() - start)
    return best, part.device


def clblast(device: object, m: int, k: int, n: int, repeats: int) -> float:
    import pyclblast
    import pyopencl.array as cla

    queue = device.queue  # type: ignore[attr-defined]
    rng = np.random.default_rng(2)
    a = cla.to_device(queue, rng.standard_normal((m, k)).astype(np.float32))
    b = cla.to_device(queue, rng.standard_normal((k, n)).astype(np.float32))
    c = cla.zeros(queue, (m, n), np.float32)
    pyclblast.gemm(queue, m, n, k, a, b, c, a_ld=k, b_ld=n, c_ld=n)
    queue.finish()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        pyclblast.gemm(queue, m, n, k, a, b, c, a_ld=k, b_ld=n, c_ld=n)
        queue.finish()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="256,512,1024", help="square sizes")
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    try:
        import pyclblast  # noqa: F401
    except ImportError as err:
        print(f"pyclblast is not installed ({err}): pip install pyclblast (needs libclblast-dev)")
        return 2
    shapes = [(s, s, s) for s in map(int, args.sizes.split(","))] + SHAPES
    print(f"load average at start: {os.getloadavg()}")
    head = "| M x K x N | ours ms | ours GFLOP/s | CLBlast ms | CLBlast GFLOP/s | ours / CLBlast |"
    print(head)
    print("|---|---|---|---|---|---|")
    for m, k, n in shapes:
        t_ours, device = ours(m, k, n, args.repeats)
        t_blas = clblast(device, m, k, n, args.repeats)
        flops = 2.0 * m * k * n
        print(
            f"| {m}x{k}x{n} | {t_ours * 1e3:.2f} | {flops / t_ours / 1e9:.1f} | "
            f"{t_blas * 1e3:.2f} | {flops / t_blas / 1e9:.1f} | {t_blas / t_ours:.2f}x |",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
