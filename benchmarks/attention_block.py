"""One attention block of MiniLM (qkv [1, 128, 1152], 12 heads of 32, a per-key mask) on the
cython backend: the fused gossamer::PackedAttention kernel against the unfused ops it replaces
(Split, 3 Reshape + Transpose, MatMul, Mul, Add, Softmax, MatMul, Transpose, Reshape), each a
whole session run of a one-block model (segments on), interleaved; medians and minima in us.

    .venv/bin/python benchmarks/attention_block.py --threads 1,2 --reps 400

Not a test: nothing is asserted (the results are checked against each other)."""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import gossamer


def block_model(b: int, s: int, heads: int, d: int) -> bytes:
    e = heads * d
    inits = [numpy_helper.from_array(np.array([e, e, e], np.int64), "sizes"),
             numpy_helper.from_array(np.array([b, s, heads, d], np.int64), "shape4"),
             numpy_helper.from_array(np.array([b, s, e], np.int64), "shape3"),
             numpy_helper.from_array(np.array(1 / np.sqrt(d), np.float32), "scale")]  # fmt: skip
    nodes = [
        helper.make_node("Split", ["qkv", "sizes"], ["q", "k", "v"], axis=-1),
        *[helper.make_node("Reshape", [x, "shape4"], [x + "4"]) for x in "qkv"],
        helper.make_node("Transpose", ["q4"], ["qt"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v4"], ["vt"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qt", "kt"], ["sc"]),
        helper.make_node("Mul", ["sc", "scale"], ["ss"]),
        helper.make_node("Add", ["ss", "mask"], ["sm"]),
        helper.make_node("Softmax", ["sm"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "vt"], ["o"]),
        helper.make_node("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ot", "shape3"], ["y0"]),
        helper.make_node("Relu", ["y0"], ["y"]),  # the block's output inside the arena
    ]
    graph = helper.make_graph(
        nodes, "attention",
        [helper.make_tensor_value_info("qkv", TensorProto.FLOAT, [b, s, 3 * e]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [b, 1, 1, s])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [b, s, e])], initializer=inits,
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--shape", default="1,128,12,32", help="B,S,heads,D")
    args = ap.parse_args()
    b, s, heads, d = (int(v) for v in args.shape.split(","))
    rng = np.random.default_rng(0)
    mask = np.where(rng.random((b, 1, 1, s)) < 0.1, -1e4, 0).astype(np.float32)
    feeds = {"qkv": rng.standard_normal((b, s, 3 * heads * d)).astype(np.float32), "mask": mask}
    model = block_model(b, s, heads, d)
    print(f"load before: {os.getloadavg()}")
    for n in (int(t) for t in args.threads.split(",")):
        os.environ["GOSSAMER_ATTENTION"] = "0"
        unfused = gossamer.load(model, backends=["cython"], threads=n)
        os.environ["GOSSAMER_ATTENTION"] = "1"
        fused = gossamer.load(model, backends=["cython"], threads=n)
        assert any(x.op_type == "PackedAttention" for x in fused.graph.nodes)
        a, c = unfused.run(None, feeds)[0], fused.run(None, feeds)[0]
        err = float(np.max(np.abs(a - c)))
        times: dict[str, list[float]] = {"unfused": [], "fused": []}
        for _ in range(args.reps):
            for key, sess in (("unfused", unfused), ("fused", fused)):
                t0 = time.perf_counter()
                sess.run(None, feeds)
                times[key].append((time.perf_counter() - t0) * 1e6)
        cells = ", ".join(f"{k} median {statistics.median(v):.1f} min {min(v):.1f}"
                          for k, v in times.items())  # fmt: skip
        print(f"{n} thread(s): {cells} us; max |fused - unfused| {err:.2e}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
