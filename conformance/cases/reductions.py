"""Reduce*, ArgMax/ArgMin, CumSum/CumProd, TopK, LpNormalization.

Reduce* are tested at the default opset (axes as an input, opset 18; ReduceSum since 13) and at
opset 11 (axes as an attribute). Axes are drawn as a set of valid (possibly negative) axes, or
left out (reduce everything); keepdims and noop_with_empty_axes both ways. The edges enumerate
axes (absent, empty, negative, unsorted, all) x keepdims x noop_with_empty_axes on a rank-3
shape with a 17-long axis, and block-sized rows; ArgMax/ArgMin (1, 12), CumSum/CumProd, TopK
(1, 10, 11) and LpNormalization every axis and flag.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx, Example
from ..values import axis_of, shapes
from ._build import F3, FLOATS, INTS, const_int64, fixed, reduced_axis
from ._edges import grid

REDUCE_DTYPES = FLOATS + ("int32", "int64")
_ONE = shapes(min_rank=0, max_rank=4, min_side=1).map(lambda s: (s,))
_NONEMPTY_AXIS = shapes(min_rank=1, max_rank=4, min_side=1).map(lambda s: (s,))


@st.composite
def _axes(draw: Any, rank: int) -> list[int] | None:
    if rank == 0 or draw(st.integers(0, 3)) == 0:
        return None
    picked = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    return [a - rank if draw(st.booleans()) else a for a in picked]


def _attr_axes(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    rank = len(shapes_[0])
    return st.fixed_dictionaries({"keepdims": st.sampled_from([0, 1]), "axes": _axes(rank)}).map(
        lambda d: {k: v for k, v in d.items() if v is not None}
    )


def _input_axes(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    rank = len(shapes_[0])
    return st.fixed_dictionaries(
        {"keepdims": st.sampled_from([0, 1]), "noop_with_empty_axes": st.sampled_from([0, 1])}
    ).map(lambda d: dict(d, _rank=rank))


def _axes_input(ctx: Ctx) -> list[int] | None:
    ctx.attrs.pop("_rank", None)
    if "_axes" in ctx.attrs:  # an edge: None = no axes input, [] = an empty one
        return ctx.attrs.pop("_axes")
    return ctx.draw(_axes(len(ctx.shapes[0])))


def _reduced_length(ex: Example) -> int:
    x = ex.inputs[0]
    axes = ex.attrs.get("axes")
    if axes is None and len(ex.inputs) > 1 and ex.inputs[1] is not None:
        axes = ex.inputs[1].tolist()
    if x.ndim == 0:
        return 1
    if not axes:
        return max(1, x.size)
    return int(np.prod([x.shape[a % x.ndim] for a in axes]))


_R3 = ((3, 17, 2),)
_INPUT_AXES_EDGES = (
    grid([_R3], _axes=[None], keepdims=[0, 1], noop_with_empty_axes=[0, 1])
    + grid([_R3], _axes=[[]], keepdims=[1], noop_with_empty_axes=[0, 1])
    + tuple(((_R3, {"_axes": a, "keepdims": k}) for a, k in
             (([1], 0), ([-1], 1), ([0, 2], 0), ([-3, -2, -1], 1), ([2, 0], 1))))
    + (((((65,),), {"_axes": [0], "keepdims": 0})), ((((2, 33),), {"_axes": [-1], "keepdims": 1})))
)  # fmt: skip
_ATTR_AXES_EDGES = grid([_R3], keepdims=[0, 1]) + tuple(
    ((shape,), {"axes": a, "keepdims": k}) for shape, a, k in
    (((3, 17, 2), [1], 0), ((3, 17, 2), [-1], 1), ((3, 17, 2), [0, 2], 0),
     ((3, 17, 2), [-3, -2, -1], 1), ((65,), [0], 0), ((2, 33), [-1], 1))
)  # fmt: skip


_SIGNED_SUMS = ("ReduceSum", "ReduceMean", "ReduceProd")


def _reduce(op: str, domain: str = "any", tol: str = "reduction") -> list[Case]:
    signed = op in _SIGNED_SUMS  # large values cancel in an order-dependent way
    return [
        Case(
            op,
            (Arg(domain), const_int64(_axes_input)),
            REDUCE_DTYPES,
            shapes=_ONE,
            attrs=_input_axes,
            tol=tol,
            reduced=_reduced_length,
            edges=_INPUT_AXES_EDGES,
            accumulate=signed,
        ),  # fmt: skip
        Case(
            op,
            (Arg(domain),),
            REDUCE_DTYPES,
            shapes=_ONE,
            attrs=_attr_axes,
            tol=tol,
            opset=11,
            variant="opset11",
            reduced=_reduced_length,
            edges=_ATTR_AXES_EDGES,
            accumulate=signed,
        ),  # fmt: skip
    ]


CASES: list[Case] = (
    _reduce("ReduceSum")
    + _reduce("ReduceMean")
    + _reduce("ReduceMax", tol="exact")
    + _reduce("ReduceMin", tol="exact")
    + _reduce("ReduceProd", "small")
    + _reduce("ReduceL1")
    + _reduce("ReduceL2")
    + _reduce("ReduceSumSquare", "small")
    + _reduce("ReduceLogSum", "positive")
    + _reduce("ReduceLogSumExp", "small")
)


def _arg_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "axis": axis_of(len(shapes_[0])),
            "keepdims": st.sampled_from([0, 1]),
            "select_last_index": st.sampled_from([0, 1]),
        }
    )


def _arg_attrs_1(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"axis": axis_of(len(shapes_[0])), "keepdims": st.sampled_from([0, 1])}
    )


# "_ties": values in {-1, 0, 1}, so the first and the last maximum differ in every row
_ARG_EDGES = grid(
    [((3, 17),)], axis=[0, -1], keepdims=[0, 1], select_last_index=[0, 1], _ties=[True]
) + grid([((65,),), ((2, 2, 33),)], axis=[-1], select_last_index=[1], _ties=[True])
_ARG_EDGES_1 = grid([((3, 17),)], axis=[0, 1, -1, -2], keepdims=[0, 1], _ties=[True]) + grid(
    [((65,),)], axis=[0]
)
_CUM_EDGES = grid([((3, 17),)], _axis=[0, -1], exclusive=[0, 1], reverse=[0, 1]) + grid(
    [((65,),), ((2, 2, 9),)], _axis=[-1]
)
_TOPK_EDGES = tuple(
    ((shape,), {"axis": axis, "largest": largest, "_k": k, "sorted": 1})
    for shape, axis, largest, k in (((2, 33), -1, 1, 17), ((2, 33), -1, 0, 33),
                                    ((2, 33), -1, 1, 0), ((2, 33), 0, 1, 2), ((2, 33), -2, 0, 1),
                                    ((65,), 0, 1, 9), ((3, 2, 17), 1, 0, 1))
)  # fmt: skip


def _cum_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "exclusive": st.sampled_from([0, 1]),
            "reverse": st.sampled_from([0, 1]),
            "_axis": axis_of(len(shapes_[0])),
        }  # fmt: skip
    )


def _cum_axis(ctx: Ctx) -> int:
    return ctx.attrs.pop("_axis")


def _topk_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "axis": axis_of(len(shapes_[0])),
            "largest": st.sampled_from([0, 1]),
            "sorted": st.just(1),
        }  # fmt: skip
    )


def _k(ctx: Ctx) -> list[int]:
    if "_k" in ctx.attrs:
        return [ctx.attrs.pop("_k")]
    x_shape = ctx.shapes[0]
    n = x_shape[ctx.attrs["axis"] % len(x_shape)]
    return [ctx.draw(st.integers(0, n))]


def _k_attr(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """TopK-1: k an attribute (at least 1), no largest/sorted."""
    return axis_of(len(shapes_[0])).flatmap(lambda axis: st.integers(
        1, shapes_[0][axis]).map(lambda k: {"axis": axis, "k": k}))  # fmt: skip


_TOPK1_EDGES = tuple((s, {"axis": a["axis"], "k": a["_k"]}) for s, a in _TOPK_EDGES if a["_k"] >= 1)


def _tied(ctx: Ctx) -> np.ndarray:
    """Integer-valued (ties likely); an edge's "_ties": values in {-1, 0, 1} (ties certain)."""
    wide = 1 if ctx.attrs.get("_ties") else 8
    return ctx.rng.integers(-wide, wide + 1, size=ctx.shapes[0]).astype(ctx.dtype)


def _arg(op: str, since: int) -> Case:
    return Case(
        op,
        (Arg(_tied, special=True),),
        FLOATS + INTS,
        shapes=_NONEMPTY_AXIS,
        attrs=_arg_attrs if since == 12 else _arg_attrs_1,
        tol="exact",
        opset=None if since == 12 else 11,
        variant="" if since == 12 else "opset11",
        edges=_ARG_EDGES if since == 12 else _ARG_EDGES_1,
    )


def _cum(op: str, domain: str) -> Case:
    return Case(
        op,
        (Arg(domain), const_int64(_cum_axis)),
        FLOATS + ("int32", "int64"),
        shapes=_NONEMPTY_AXIS,
        attrs=_cum_attrs,
        tol="reduction",
        reduced=lambda ex: max(ex.inputs[0].shape, default=1),
        edges=_CUM_EDGES,
        accumulate=True,
    )


def _topk(since: int) -> Case:
    """TopK: k an attribute (1), an input (10), with largest/sorted (11). Distinct values: which
    of two equal elements TopK returns is not specified."""
    k_input = (const_int64(_k),) if since >= 10 else ()
    attrs = _topk_attrs if since == 11 else _k_attr if since == 1 else _topk_attrs_10
    edges = _TOPK_EDGES if since == 11 else _TOPK1_EDGES
    if since == 10:
        edges = tuple((sh, {k: v for k, v in a.items() if k in ("axis", "_k")}) for sh, a in edges)
    return Case(
        "TopK",
        (Arg("distinct"), *k_input),
        F3 + ("int32", "int64"),
        shapes=_NONEMPTY_AXIS,
        attrs=attrs,
        outputs=2,
        tol="exact",
        opset=None if since == 11 else max(since, 9),
        variant="" if since == 11 else f"opset{max(since, 9)}",
        edges=edges,
    )


def _topk_attrs_10(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": axis_of(len(shapes_[0]))})


CASES += [
    _arg("ArgMax", 12),
    _arg("ArgMax", 1),
    _arg("ArgMin", 12),
    _arg("ArgMin", 1),
    _cum("CumSum", "int_valued"),
    _cum("CumProd", "small"),
    _topk(11),
    _topk(10),
    _topk(1),
    Case(
        "LpNormalization",
        (Arg("nonzero"),),
        FLOATS,
        shapes=_NONEMPTY_AXIS,
        attrs=lambda s: st.fixed_dictionaries(
            {"axis": axis_of(len(s[0])), "p": st.sampled_from([1, 2])}
        ),
        reduced=reduced_axis(),
        edges=grid([((3, 17),)], axis=[0, 1, -1], p=[1, 2]) + grid([((65,),)], axis=[0], p=[2]),
    ),  # fmt: skip
]
_ = fixed
