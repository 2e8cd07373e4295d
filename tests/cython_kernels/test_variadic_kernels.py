"""The cython Sum: the reference's fold bit for bit (any thread count, in an arena or not), and
what it leaves to the reference (one input, broadcasting, other dtypes)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import gossamer


def _sum_model(shapes, dtype=TensorProto.FLOAT, opset=13):
    names = [f"x{i}" for i in range(len(shapes))]
    out = tuple(np.broadcast_shapes(*shapes))
    g = helper.make_graph(
        [helper.make_node("Sum", names, ["s"]), helper.make_node("Relu", ["s"], ["y"])],
        "g",
        [helper.make_tensor_value_info(n, dtype, s) for n, s in zip(names, shapes)],
        [helper.make_tensor_value_info("y", dtype, out)],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


@pytest.mark.parametrize("count", [2, 3, 6])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("opset", [6, 13])
def test_sum_is_the_references_fold_bit_for_bit(count, threads, opset):
    rng = np.random.default_rng(count)
    shapes = [(4, 33000)] * count
    feeds = {f"x{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}
    feeds["x0"][0, :3] = [np.nan, np.inf, -0.0]
    fast = gossamer.load(_sum_model(shapes, opset=opset), backends=["cython"], threads=threads)
    assert set(fast.placement.backend_of.values()) == {"cython"}
    want = gossamer.load(_sum_model(shapes, opset=opset), backends=[]).run(None, feeds)[0]
    for _ in range(3):  # the arena runs (second run on) too
        assert fast.run(None, feeds)[0].tobytes() == want.tobytes()


@pytest.mark.parametrize(
    "shapes,why",
    [([(3, 4)], "fewer than two"), ([(3, 4), (4,)], "different shapes")],
)
def test_what_sum_leaves_to_the_reference(shapes, why):
    s = gossamer.load(_sum_model(shapes), backends=["cython"])
    node = next(n for n in s.placement.backend_of if n.startswith("Sum"))
    assert s.placement.backend_of[node] == "reference"
    assert why in s.placement.declined[node]["cython"]
