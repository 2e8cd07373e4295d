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


def _mask_graph() -> Graph:
    """An attention mask as exporters build it: a Range grid from the input's shape compared
    (GreaterOrEqual) and combined (And) with a gather of the bool mask input; and a float
    comparison, which computes on data."""
    return Graph(
        [
            Node("Shape", ["ids"], ["s"], name="shape", attrs={"start": 1, "end": 2}),
            Node("Squeeze", ["s"], ["n"], name="squeeze"),
            Node("Range", ["zero", "n", "one"], ["r"], name="range"),
            Node("Unsqueeze", ["r", "ax"], ["col"], name="unsqueeze"),
            Node("GreaterOrEqual", ["col", "r"], ["tri"], name="ge"),
            Node("Gather", ["mask", "r"], ["m"], name="gather", attrs={"axis": 1}),
            Node("And", ["tri", "m"], ["both"], name="and"),
            Node("Greater", ["x", "x"], ["gt"], name="float_gt"),
            Node("Cast", ["x"], ["xi"], name="cast", attrs={"to": 7}),
            Node("Equal", ["xi", "r"], ["eq"], name="data_eq"),  # int64, but from float data
        ],
        [
            Value("ids", "int64", (1, "seq")),
            Value("mask", "bool", (1, "seq")),
            Value("x", "float32", (1, "seq")),
        ],  # fmt: skip
        [Value("both", "bool", None), Value("gt", "bool", None), Value("eq", "bool", None)],
        initializers={
            k: np.array(v, np.int64) for k, v in {"zero": 0, "one": 1, "ax": [1]}.items()
        },  # fmt: skip
        name="masks",
        opsets={"": 17},
    )


def test_mask_and_shape_derived_nodes_are_explained_whatever_their_size():
    s = gossamer.load(_mask_graph(), backends=["cython"], optimize=0)
    declined = {n: str(r) for n, r in s.placement.declined.items()}
    assert "computed from the input shapes and constants only" in declined["ge"]
    assert "mask/index arithmetic" in declined["and"]
    assert "would not pay" not in declined.get("float_gt", "")  # float data: a kernel may pay
    assert "would not pay" not in declined["data_eq"]


def test_a_node_with_a_body_or_a_random_op_is_never_shape_derived():
    from gossamer.cython_kernels.not_worth import derived_from

    body = Graph([Node("Neg", ["x"], ["o"], name="neg")], [], [Value("o", "float32", None)])
    g = Graph(
        [
            Node("Shape", ["x"], ["s"], name="shape"),
            Node("ReduceSum", ["s"], ["n"], name="sum"),
            Node("Greater", ["n", "zero"], ["c"], name="gt"),
            Node("If", ["c"], ["y"], name="if", attrs={"then_branch": body, "else_branch": body}),
            Node("RandomNormalLike", ["s"], ["noise"], name="rand", attrs={"dtype": 1}),
        ],
        [Value("x", "float32", (3,))],
        [Value("y", "float32", None), Value("noise", "float32", None)],
        initializers={"zero": np.array(0, np.int64)},
        opsets={"": 17},
    )
    got = derived_from(g, {"s"})
    assert {"n", "c"} <= got and "y" not in got and "noise" not in got
