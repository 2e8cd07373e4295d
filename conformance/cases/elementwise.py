"""Element-wise math, comparison, logic, bitwise, Where, Clip, Cast (every version).

Unary, binary and variadic cases carry the shared block-crossing and broadcasting edges
(`_edges.py`); the older versions run too: Max/Min/Mean/Sum-6 without broadcasting, Mod-10 (fmod=1
for floats), BitShift-11 (unsigned only), Clip-6, Cast-6/19, CastLike-15/19. Casts to integer
types take in-range values without special values (out-of-range float-to-int casts are undefined).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ...refimpl.dtypes import ONNX_TYPE_CODES
from ..case import Arg, Case, Ctx
from ..values import broadcast, make, same
from ..values import unary as unary_shapes
from ._build import BOOL, F3, FLOATS, INTS, NUMERIC, SINTS, UINTS, binary, fixed, unary, variadic
from ._edges import BINARY_SHAPES, UNARY_EDGES, grid, plain

T = "transcendental"
SIGNED = FLOATS + SINTS

_SAME_EDGES = plain([((65,),), ((3, 17), (3, 17)), ((2, 33), (2, 33), (2, 33)), ((),) * 2])
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
        edges=grid([((65,),), ((3, 17),)], detect_negative=[0, 1], detect_positive=[0, 1]),
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
    binary("Mod", INTS, ("any", "nonzero"), tol="exact", opset=10, variant="opset10"),
    binary(
        "Mod",
        FLOATS + INTS,
        ("any", "nonzero"),
        variant="fmod",
        attrs=fixed(fmod=st.just(1)),
        edges=plain(BINARY_SHAPES, {"fmod": 1}),
    ),  # fmt: skip
    binary(
        "Mod",
        F3 + ("int32",),
        ("any", "nonzero"),
        variant="fmod_opset10",
        opset=10,
        attrs=fixed(fmod=st.just(1)),
        edges=plain(BINARY_SHAPES, {"fmod": 1}),
    ),  # fmt: skip
    variadic("Max", NUMERIC, tol="exact"),
    variadic("Min", NUMERIC, tol="exact"),
    variadic("Sum", FLOATS, accumulate=True),
    variadic("Mean", FLOATS, accumulate=True),
    # version 6: no broadcasting, every input of one shape
    *(
        variadic(
            op,
            dtypes,
            tol=tol,
            opset=6,
            variant="opset6",
            edges=_SAME_EDGES,
            shapes=st.integers(1, 3).flatmap(lambda k: same(k)),
            accumulate=op in ("Sum", "Mean"),
        )
        for op, dtypes, tol in (
            ("Max", F3 + ("int32",), "exact"),
            ("Min", F3 + ("int32",), "exact"),
            ("Sum", F3, "default"),
            ("Mean", F3, "default"),
        )
    ),  # fmt: skip
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
    *(
        binary(
            "BitShift",
            dtypes,
            ("any", "shift"),
            tol="exact",
            special=False,
            attrs=fixed(direction=st.sampled_from(["LEFT", "RIGHT"])),
            edges=grid(BINARY_SHAPES[:4], direction=["LEFT", "RIGHT"]),
            **kw,
        )
        for dtypes, kw in ((UINTS + SINTS, {}), (UINTS, {"opset": 11, "variant": "opset11"}))
    ),
    Case(
        "Where",
        (Arg("bool", dtype="bool"), Arg("any"), Arg("any")),
        NUMERIC + BOOL,
        shapes=broadcast(3),
        tol="exact",
        edges=plain(
            [
                ((3, 17), (17,), (3, 1)),
                ((65,), (), (65,)),
                ((2, 1, 33), (2, 4, 1), (33,)),
                ((), (9,), ()),
            ]
        ),  # fmt: skip
    ),
    Case(
        "Identity",
        (Arg("any"),),
        NUMERIC + BOOL,
        shapes=unary_shapes(),
        tol="exact",
        edges=UNARY_EDGES,
    ),  # fmt: skip
]


# ---- Clip: bounds as optional 0-d inputs (opset 11+) and as attributes (opset 6) --------------
def _bound(which: int):
    def make_bound(ctx: Ctx) -> np.ndarray | None:
        key = "_min" if which == 1 else "_max"
        if key in ctx.attrs:  # an edge
            given = ctx.attrs[key]
            return None if given is None else np.asarray(given).astype(ctx.inputs[0].dtype)
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
        edges=tuple(
            ((s,), {"_min": lo, "_max": hi})
            for s, lo, hi in (
                ((65,), -1, 2),
                ((3, 17), None, 1),
                ((2, 33), 0, None),
                ((9,), 2, -1),
                ((17,), None, None),
                ((), -3, 3),
            )
        ),  # fmt: skip
    ),  # fmt: skip
    unary(
        "Clip",
        FLOATS,
        variant="opset6",
        opset=6,
        tol="exact",
        attrs=fixed(min=st.sampled_from([-1.0, -0.5, 0.0]), max=st.sampled_from([0.5, 1.0, 6.0])),
        edges=tuple(
            ((s,), a)
            for s, a in (
                ((65,), {"min": -1.0, "max": 2.0}),
                ((3, 17), {}),
                ((2, 33), {"max": 0.5}),
                ((9,), {"min": 0.0}),
            )
        ),  # fmt: skip
    ),
]


# ---- Cast / CastLike ---------------------------------------------------------------------------
_CODES = {name: code for code, name in ONNX_TYPE_CODES.items()}
_TO_FLOAT = ["float32", "float16", "float64", "bfloat16", "bool"]
_TO_INT = ["int32", "int64", "int8", "uint8", "int16", "uint16"]
_OLD = ("float32", "float16", "float64", "int32", "int64", "uint8", "bool")


def _cast_target(targets: list[str]):
    return lambda shapes: st.fixed_dictionaries(
        {"to": st.sampled_from([_CODES[t] for t in targets])}
    )


def _like(targets: list[str]):
    def make_like(ctx: Ctx) -> np.ndarray:
        target = ctx.attrs.get("_to") or ctx.draw(st.sampled_from(targets))
        return make("any", (0,), target, ctx.rng)

    return make_like


def _casts(since: int, newest: bool, like: bool) -> list[Case]:
    """Casts to float/bool types (special values included: NaN, inf, overflow to inf in float16)
    and to integer types (in-range values: float-to-int out of range is undefined)."""
    out = []
    for targets, variant, domain in ((_TO_FLOAT, "", "any"), (_TO_INT, "to_int", "small")):
        name = "_".join(p for p in (variant, "" if newest else f"opset{since}") if p)
        shapes = [((65,),), ((3, 17),)]
        if like:
            edges = tuple(((s[0],), {"_to": t}) for t in targets for s in shapes[:1])
            args: tuple[Arg, ...] = (Arg(domain), Arg(_like(targets), const=True))
            attrs = None
        else:
            edges = tuple(((s[0],), {"to": _CODES[t]}) for t in targets for s in shapes[:1])
            args, attrs = (Arg(domain),), _cast_target(targets)
        out.append(Case(
            "CastLike" if like else "Cast", args, FLOATS + INTS + BOOL if newest else _OLD,
            shapes=unary_shapes(), tol="exact", opset=None if newest else since, variant=name,
            special=domain == "any", edges=edges,
            **({"attrs": attrs} if attrs else {})))  # fmt: skip
    return out


CASES += _casts(24, True, False) + _casts(19, False, False) + _casts(6, False, False)
CASES += _casts(24, True, True) + _casts(19, False, True) + _casts(15, False, True)


_EXPONENTS = (2.0, 3.0, 0.5, -1.0, 1.5, 0.0, 1.0)


def _scalar_exponent(ctx: Ctx) -> np.ndarray:
    """The one-element exponent (as kernels that take a scalar exponent see it most)."""
    e = ctx.attrs.pop("_e") if "_e" in ctx.attrs else ctx.draw(st.sampled_from(_EXPONENTS))
    return np.asarray(e, dtype=ctx.dtype)


# x ** scalar (square, root, reciprocal, fractional): any base, negative ones included (NaN)
CASES.append(Case(
    "Pow", (Arg("any"), Arg(_scalar_exponent, const=True)), FLOATS, shapes=unary_shapes(),
    tol=T, variant="scalar_exponent",
    edges=tuple(((s,), {"_e": e}) for s in ((65,), (3, 17)) for e in _EXPONENTS)))  # fmt: skip
