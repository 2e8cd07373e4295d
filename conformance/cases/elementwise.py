"""Element-wise math, comparison, logic, bitwise, Where, Clip, Cast."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ...refimpl.dtypes import ONNX_TYPE_CODES
from ..case import Arg, Case, Ctx
from ..values import broadcast, make
from ..values import unary as unary_shapes
from ._build import BOOL, F3, FLOATS, INTS, NUMERIC, SINTS, UINTS, binary, fixed, unary, variadic

T = "transcendental"
SIGNED = FLOATS + SINTS

CASES: list[Case] = [
    # exact unary ops
    unary("Abs", NUMERIC, tol="exact"),
    unary("Neg", SIGNED, tol="exact"),
    unary("Sign", NUMERIC, tol="exact"),
    unary("Ceil", FLOATS, "wide", tol="exact"),
    unary("Floor", FLOATS, "wide", tol="exact"),
    unary("Round", FLOATS, "wide", tol="exact"),
    unary("IsNaN", FLOATS, tol="exact"),
    unary("IsInf", FLOATS, tol="exact"),
    unary(
        "IsInf",
        F3,
        tol="exact",
        variant="one_sided",
        attrs=fixed(
            detect_negative=st.sampled_from([0, 1]), detect_positive=st.sampled_from([0, 1])
        ),
    ),
    unary("Not", BOOL, tol="exact"),
    unary("BitwiseNot", INTS + UINTS[1:], tol="exact"),
    # math
    unary("Reciprocal", FLOATS, "nonzero"),
    unary("Sqrt", FLOATS, "nonneg", tol=T),
    unary("Exp", FLOATS, tol=T),
    unary("Log", FLOATS, "positive", tol=T),
    unary("Sin", FLOATS, tol=T),
    unary("Cos", FLOATS, tol=T),
    unary("Tan", FLOATS, "unit", tol=T),
    unary("Asin", FLOATS, "unit", tol=T),
    unary("Acos", FLOATS, "unit", tol=T),
    unary("Atan", FLOATS, tol=T),
    unary("Sinh", FLOATS, "small", tol=T),
    unary("Cosh", FLOATS, "small", tol=T),
    unary("Asinh", FLOATS, tol=T),
    unary("Acosh", FLOATS, "gt1", tol=T),
    unary("Atanh", FLOATS, "unit", tol=T),
    unary("Erf", FLOATS, tol=T),
    # binary arithmetic (broadcasting)
    binary("Add", NUMERIC),
    binary("Sub", NUMERIC),
    binary("Mul", NUMERIC, ("small", "small")),
    binary("Div", NUMERIC, ("any", "nonzero")),
    binary("Pow", FLOATS, ("positive", "exponent"), tol=T),
    binary("Pow", ("int32", "int64"), ("small", "exponent"), variant="int", special=False),
    binary("Mod", INTS, ("any", "nonzero"), tol="exact"),
    binary("Mod", FLOATS + INTS, ("any", "nonzero"), variant="fmod", attrs=fixed(fmod=st.just(1))),
    variadic("Max", NUMERIC, tol="exact"),
    variadic("Min", NUMERIC, tol="exact"),
    variadic("Sum", FLOATS),
    variadic("Mean", FLOATS),
    # comparison and logic (int-valued floats make equal pairs likely)
    binary("Equal", NUMERIC + BOOL, ("int_valued", "int_valued"), tol="exact"),
    binary("Less", NUMERIC, ("int_valued", "int_valued"), tol="exact"),
    binary("LessOrEqual", NUMERIC, ("int_valued", "int_valued"), tol="exact"),
    binary("Greater", NUMERIC, ("int_valued", "int_valued"), tol="exact"),
    binary("GreaterOrEqual", NUMERIC, ("int_valued", "int_valued"), tol="exact"),
    binary("And", BOOL, tol="exact"),
    binary("Or", BOOL, tol="exact"),
    binary("Xor", BOOL, tol="exact"),
    binary("BitwiseAnd", INTS + UINTS[1:], tol="exact"),
    binary("BitwiseOr", INTS + UINTS[1:], tol="exact"),
    binary("BitwiseXor", INTS + UINTS[1:], tol="exact"),
    binary(
        "BitShift",
        UINTS,
        ("any", "shift"),
        tol="exact",
        attrs=fixed(direction=st.sampled_from(["LEFT", "RIGHT"])),
        special=False,
    ),
    Case(
        "Where",
        (Arg("bool", dtype="bool"), Arg("any"), Arg("any")),
        NUMERIC + BOOL,
        shapes=broadcast(3),
        tol="exact",
        special=True,
    ),
    Case(
        "Identity", (Arg("any"),), NUMERIC + BOOL, shapes=unary_shapes(), tol="exact", special=True
    ),
]


# ---- Clip: bounds as optional 0-d inputs (opset 11+) and as attributes (opset 6) --------------
def _bound(which: int):
    def make_bound(ctx: Ctx) -> np.ndarray | None:
        if not ctx.draw(st.booleans()):
            return None
        value = make("any", (), ctx.dtype, ctx.rng)
        if which == 2 and ctx.inputs[1] is not None:  # keep min <= max
            value = np.maximum(value, ctx.inputs[1])
        return value

    return Arg(make_bound, const=True)


CASES += [
    Case(
        "Clip",
        (Arg("any"), _bound(1), _bound(2)),
        NUMERIC,
        shapes=unary_shapes(),
        tol="exact",
        special=True,
    ),  # fmt: skip
    unary(
        "Clip",
        FLOATS,
        variant="opset6",
        opset=6,
        tol="exact",
        attrs=fixed(min=st.sampled_from([-1.0, -0.5, 0.0]), max=st.sampled_from([0.5, 1.0, 6.0])),
    ),
]


# ---- Cast / CastLike ---------------------------------------------------------------------------
_CODES = {name: code for code, name in ONNX_TYPE_CODES.items()}
_TARGETS = ["float32", "float16", "float64", "int32", "int64", "int8", "uint8", "bool"]


def _cast_target(shapes: tuple) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"to": st.sampled_from([_CODES[t] for t in _TARGETS])})


def _like(ctx: Ctx) -> np.ndarray:
    target = ctx.draw(st.sampled_from(_TARGETS))
    return make("any", (0,), target, ctx.rng)


CASES += [
    # values in range for every target type: casting out-of-range floats to ints is undefined
    Case(
        "Cast",
        (Arg("small"),),
        FLOATS + INTS + BOOL,
        shapes=unary_shapes(),
        attrs=_cast_target,
        tol="exact",
    ),  # fmt: skip
    Case(
        "CastLike",
        (Arg("small"), Arg(_like, const=True)),
        FLOATS + INTS + BOOL,
        shapes=unary_shapes(),
        tol="exact",
    ),  # fmt: skip
]
