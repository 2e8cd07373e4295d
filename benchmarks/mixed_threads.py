"""Native kernels and numpy's BLAS sharing one run.

A model whose nodes alternate between the cython backend (float32 3x3 convs) and the reference
(float64 256x256 MatMuls through numpy's BLAS) is timed at the default thread count with numpy's
BLAS capped at one thread during runs (Gossamer's default, refimpl/blas_threads.py), then without
the cap (as before), then at threads=1.

    .venv/bin/python benchmarks/mixed_threads.py
"""

from __future__ import annotations

import collections
import contextlib
import statistics
import time
import warnings

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import gossamer
import gossamer.session as session_module


def mixed_model(stages: int = 6) -> bytes:
    rng = np.random.default_rng(0)
    nodes, inits, cur = [], [], "x"
    for i in range(stages):
        w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32) * 0.1
        inits += [
            numpy_helper.from_array(w, f"w{i}"),
            numpy_helper.from_array(rng.standard_normal((256, 256)) * 0.05, f"m{i}"),
        ]
        nodes += [
            helper.make_node("Conv", [cur, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
            helper.make_node("Reshape", [f"r{i}", "flat"], [f"q{i}"]),
            helper.make_node("Cast", [f"q{i}"], [f"d{i}"], to=TensorProto.DOUBLE),
            helper.make_node("MatMul", [f"d{i}", f"m{i}"], [f"e{i}"]),
            helper.make_node("Cast", [f"e{i}"], [f"k{i}"], to=TensorProto.FLOAT),
            helper.make_node("Reshape", [f"k{i}", "img"], [f"f{i}"]),
        ]
        cur = f"f{i}"
    inits += [
        numpy_helper.from_array(np.array([256, 256], np.int64), "flat"),
        numpy_helper.from_array(np.array([1, 16, 64, 64], np.int64), "img"),
    ]
    graph = helper.make_graph(
        nodes,
        "mixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 64, 64])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, [1, 16, 64, 64])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def timed(sess: gossamer.Session, feeds: dict, runs: int = 150) -> str:
    for _ in range(10):
        sess.run(None, feeds)
    ms = []
    for _ in range(runs):
        start = time.perf_counter()
        sess.run(None, feeds)
        ms.append((time.perf_counter() - start) * 1e3)
    return (
        f"median {statistics.median(ms):.2f} ms, p90 {np.percentile(ms, 90):.2f}, max {max(ms):.2f}"
    )


def main() -> None:
    warnings.simplefilter("ignore", gossamer.PerformanceWarning)  # the fallback is the point
    model = mixed_model()
    feeds = {"x": np.random.default_rng(1).standard_normal((1, 16, 64, 64)).astype(np.float32)}
    sess = gossamer.load(model, backends=["cython"])
    print("nodes per backend:", dict(collections.Counter(sess.placement.backend_of.values())))
    for _ in range(2):
        print("default threads, BLAS capped at 1 (default):", timed(sess, feeds))
        capped = session_module.blas_thread_limit
        session_module.blas_thread_limit = lambda n: contextlib.nullcontext()
        try:
            print("default threads, BLAS uncapped (before)    :", timed(sess, feeds))
        finally:
            session_module.blas_thread_limit = capped
    single = gossamer.load(model, backends=["cython"], threads=1)
    print("threads=1                                  :", timed(single, feeds))


if __name__ == "__main__":
    main()
