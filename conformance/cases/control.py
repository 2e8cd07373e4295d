"""Control flow (If, Loop, Scan) with small generated bodies, and the sequence/optional ops that
need no sequence- or optional-typed feed (SequenceEmpty, Optional, OptionalHasElement,
OptionalGetElement on plain tensors, as opset 18 allows).

Bodies are `Graph`s built for the dtype under test (by the first input's maker, since attributes
are drawn before the dtype is known). They hold no arrays (constants come from `value_floats` /
`value_int` plus a Cast), so a failing example's repro script stays runnable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ...refimpl.dtypes import ONNX_TYPE_CODES
from ...refimpl.ir import Graph, Node, Value
from ..case import Arg, Case, Ctx
from ..values import make, shapes
from ._build import F3

CODES = {name: code for code, name in ONNX_TYPE_CODES.items()}
DTYPES = F3 + ("int32", "int64")
_SMALL = shapes(0, 2, max_side=3)


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


def _constant_branch(name: str, values: list[float], shape: tuple[int, ...], dtype: str) -> Graph:
    """A body with no inputs: Constant(value_floats) -> Reshape-free Cast to `dtype`."""
    nodes = [
        Node("Constant", [], ["c"], {"value_floats": values}, name=f"{name}_c"),
        Node("Cast", ["c"], ["out"], {"to": CODES[dtype]}, name=f"{name}_cast"),
    ]
    return Graph(nodes, [], [Value("out", dtype, (len(values),))], name=name)


def _if_cond(ctx: Ctx) -> np.ndarray:
    for branch in ("then_branch", "else_branch"):
        n = ctx.draw(st.integers(0, 4))
        values = [float(v) for v in ctx.rng.integers(-8, 9, size=n)]
        ctx.attrs[branch] = _constant_branch(branch, values, (n,), ctx.dtype)
    return np.asarray(ctx.draw(st.booleans()))


# ---- Loop ----------------------------------------------------------------------------------------
def _loop_body(dtype: str, shape: tuple[int, ...], stop: int | None) -> Graph:
    """(i, cond, v) -> (cond', v + i, v * i): cond' = i < stop, or cond passed through."""
    nodes = [
        Node("Cast", ["i"], ["fi"], {"to": CODES[dtype]}, name="cast_i"),
        Node("Add", ["v", "fi"], ["v_out"], name="add"),
        Node("Mul", ["v", "fi"], ["scan"], name="mul"),
    ]
    if stop is None:
        nodes.append(Node("Identity", ["cond"], ["cond_out"], name="keep"))
    else:
        nodes.append(Node("Constant", [], ["stop"], {"value_int": stop}, name="stop"))
        nodes.append(Node("Less", ["i", "stop"], ["cond_out"], name="less"))
    return Graph(
        nodes,
        [Value("i", "int64", ()), Value("cond", "bool", ()), Value("v", dtype, shape)],
        [Value("cond_out", "bool", ()), Value("v_out", dtype, shape), Value("scan", dtype, shape)],
        name="loop_body",
    )


@st.composite
def _loop_shapes(draw: Any) -> tuple:
    """(M, cond, v, attrs): `_mode` for / while / both (M and a body condition)."""
    mode = draw(st.sampled_from(["for", "while", "both"]))
    return ((), (), draw(_SMALL), {"_mode": mode})


def _loop_m(ctx: Ctx) -> np.ndarray | None:
    mode = ctx.attrs["_mode"]
    trips = ctx.attrs["_m"] if "_m" in ctx.attrs else ctx.draw(st.integers(0, 4))
    return None if mode == "while" else np.asarray(trips, np.int64)


def _loop_cond(ctx: Ctx) -> np.ndarray | None:
    if "_cond" in ctx.attrs:
        return None if ctx.attrs["_cond"] is None else np.asarray(ctx.attrs["_cond"])
    if ctx.attrs["_mode"] == "for" and ctx.draw(st.booleans()):
        return None
    return np.asarray(ctx.draw(st.integers(0, 5)) > 0)  # now and then a loop that never starts


def _loop_v(ctx: Ctx) -> np.ndarray:
    mode = ctx.attrs.pop("_mode")
    stop = ctx.attrs.get("_stop") if "_stop" in ctx.attrs else (
        None if mode == "for" else ctx.draw(st.integers(0, 3)))  # fmt: skip
    ctx.attrs["body"] = _loop_body(ctx.dtype, ctx.shapes[2], stop)
    return make("small", ctx.shapes[2], ctx.dtype, ctx.rng)


# ---- Scan ----------------------------------------------------------------------------------------
def _scan_body(dtype: str, shape: tuple[int, ...]) -> Graph:
    """(s, x_t) -> (s + x_t, s * x_t)."""
    nodes = [Node("Add", ["s", "x"], ["s_out"], name="add"),
             Node("Mul", ["s", "x"], ["y"], name="mul")]  # fmt: skip
    return Graph(
        nodes,
        [Value("s", dtype, shape), Value("x", dtype, shape)],
        [Value("s_out", dtype, shape), Value("y", dtype, shape)],
        name="scan_body",
    )


@st.composite
def _scan_shapes(draw: Any) -> tuple:
    state = draw(shapes(0, 2, min_side=1, max_side=3))
    steps = draw(st.integers(1, 4))  # zero steps: Loop with M=0 covers empty scan outputs
    in_axis = draw(st.integers(0, len(state)))
    x = (*state[:in_axis], steps, *state[in_axis:])
    attrs: dict[str, Any] = {"num_scan_inputs": 1}
    if in_axis or draw(st.booleans()):
        attrs["scan_input_axes"] = [in_axis]
    if draw(st.booleans()):
        attrs["scan_input_directions"] = [draw(st.sampled_from([0, 1]))]
    if draw(st.booleans()):
        attrs["scan_output_directions"] = [draw(st.sampled_from([0, 1]))]
    if draw(st.booleans()):
        attrs["scan_output_axes"] = [draw(st.integers(-len(state) - 1, len(state)))]
    return (state, x, attrs)


def _scan_state(ctx: Ctx) -> np.ndarray:
    ctx.attrs["body"] = _scan_body(ctx.dtype, ctx.shapes[0])
    return make("small", ctx.shapes[0], ctx.dtype, ctx.rng)


@st.composite
def _scan8_shapes(draw: Any) -> tuple:
    """Scan-8: (sequence_lens, state (B, ...), x (B, T, ...), attrs); batch axis 0, scan axis 1."""
    inner = draw(shapes(0, 1, min_side=1, max_side=3))
    b, t = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    attrs: dict[str, Any] = {"num_scan_inputs": 1}
    if draw(st.booleans()):
        attrs["directions"] = [draw(st.sampled_from([0, 1]))]
    return ((b,) if draw(st.booleans()) else None, (b, *inner), (b, t, *inner), attrs)


def _scan8_lens(ctx: Ctx) -> np.ndarray | None:
    if ctx.shapes[0] is None:
        return None
    return ctx.rng.integers(0, ctx.shapes[2][1] + 1, size=ctx.shapes[0]).astype(np.int64)


def _scan8_state(ctx: Ctx) -> np.ndarray:
    ctx.attrs["body"] = _scan_body(ctx.dtype, ctx.shapes[1][1:])
    return make("small", ctx.shapes[1], ctx.dtype, ctx.rng)


_LOOP_EDGES = tuple(
    (((), (), v, {"_mode": mode, "_m": m, "_cond": c, "_stop": stop}), None)
    for v, mode, m, c, stop in (((17,), "for", 3, None, None), ((3, 9), "for", 0, True, None),
                                ((), "while", 0, True, 2), ((2,), "both", 4, True, 1),
                                ((65,), "both", 2, False, 3))
)  # fmt: skip
_SCAN_EDGES = tuple(
    ((state, x, {"num_scan_inputs": 1, **a}), None)
    for state, x, a in (((17,), (3, 17), {}), ((2, 9), (2, 4, 9), {"scan_input_axes": [1]}),
                        ((), (5,), {"scan_input_directions": [1]}),
                        ((3,), (2, 3), {"scan_output_directions": [1], "scan_output_axes": [-1]}))
)  # fmt: skip


CASES: list[Case] = [
    Case("If", (Arg(_if_cond, dtype="bool"),), DTYPES, shapes=st.just(((),)), tol="exact",
         edges=((((),), None),)),
    Case("Loop", (Arg(_loop_m, dtype="int64"), Arg(_loop_cond, dtype="bool"), Arg(_loop_v)),
         DTYPES, shapes=_loop_shapes(), attrs=_attrs_last, outputs=2, tol="default",
         edges=_LOOP_EDGES),
    Case("Scan", (Arg(_scan_state), Arg("small")), DTYPES, shapes=_scan_shapes(),
         attrs=_attrs_last, outputs=2, tol="default", edges=_SCAN_EDGES),
    Case("Scan", (Arg(_scan8_lens, dtype="int64"), Arg(_scan8_state), Arg("small")), F3,
         shapes=_scan8_shapes(), attrs=_attrs_last, outputs=2, tol="default", opset=8,
         variant="opset8", edges=tuple(((lens, st_, x, a), None) for lens, st_, x, a in (
             ((2,), (2, 17), (2, 3, 17), {"num_scan_inputs": 1}),
             (None, (3,), (3, 4), {"num_scan_inputs": 1, "directions": [1]})))),
]  # fmt: skip


# ---- sequences and optionals without sequence/optional feeds -------------------------------------
def _maybe_tensor(ctx: Ctx) -> np.ndarray | None:
    return None if ctx.shapes[0] is None else make("any", ctx.shapes[0], ctx.dtype, ctx.rng)


_TENSOR = shapes(0, 3).map(lambda s: (s,))
_SMALL_EDGES = ((((65,),), None), (((3, 17),), None), (((),), None))
CASES += [
    Case("SequenceEmpty", (), ("float32",), shapes=st.just(()), tol="exact",
         attrs=lambda s: st.sampled_from([{}, {"dtype": 7}, {"dtype": 11}]),
         edges=tuple(((), a) for a in ({}, {"dtype": 7}, {"dtype": 11}))),
    Case("Optional", (Arg("any"),), DTYPES + ("bool",), shapes=_TENSOR, tol="exact",
         edges=_SMALL_EDGES),
    Case("OptionalHasElement", (Arg(_maybe_tensor),), DTYPES, tol="exact",
         shapes=st.one_of(_TENSOR, st.just((None,))), edges=_SMALL_EDGES + (((None,), None),)),
    Case("OptionalGetElement", (Arg("any"),), DTYPES + ("bool",), shapes=_TENSOR, tol="exact",
         edges=_SMALL_EDGES),
]  # fmt: skip
