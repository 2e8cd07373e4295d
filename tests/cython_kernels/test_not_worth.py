"""`gossamer explain` says why shape arithmetic stays on the reference (not_worth.py) instead of
a bare "no kernel for ..."; nodes that compute on real data keep their own reason."""

from __future__ import annotations

import numpy as np
from gossamer.cython_kernels.not_worth import SMALL, reason
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def _shape_graph() -> Graph:
    """x -> Shape -> Mul(2) -> Range -> Reshape-ish data path: y = Softmax(x, axis=0)."""
    return Graph(
        [
            Node("Shape", ["x"], ["s"], name="shape"),
            Node("Mul", ["s", "two"], ["m"], name="mul"),
            Node("ConstantOfShape", ["m"], ["z"], name="fill"),
            Node("Hardmax", ["x"], ["y"], name="hardmax", attrs={"axis": 0}),
        ],
        [Value("x", "float32", (3, 4))],
        [Value("z", "float32", None), Value("y", "float32", (3, 4))],
        initializers={"two": np.array([2], np.int64)},
        name="shapes",
        opsets={"": 17},
    )


def test_shape_ops_and_small_integer_nodes_are_explained():
    s = gossamer.load(_shape_graph(), backends=["cython"], optimize=0)
    declined = {n: str(r) for n, r in s.placement.declined.items()}
    assert "would not pay: it reads only the input's shape" in declined["shape"]
    assert "would not pay: shape arithmetic on 2 int64 elements" in declined["mul"]
    assert "would not pay" in declined["fill"]
    assert "would not pay" not in declined["hardmax"]  # real data: the plain reason


def test_reason_needs_known_small_integer_outputs():
    small = Value("a", "int64", (SMALL,))
    assert reason("Mul", [small]) == f"would not pay: shape arithmetic on {SMALL} int64 elements"
    assert reason("Mul", [Value("a", "int64", (SMALL + 1,))]) is None
    assert reason("Mul", [Value("a", "float32", (2,))]) is None
    assert reason("Mul", [Value("a", "int64", ("n",))]) is None
    assert reason("Range", [Value("a", "float32", ("n",))]).startswith("would not pay")
