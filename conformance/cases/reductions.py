"""Reduce*, ArgMax/ArgMin, CumSum/CumProd, TopK, LpNormalization.

Reduce* are tested at the default opset (axes as an input, opset 18; ReduceSum since 13) and at
opset 11 (axes as an attribute). Axes are drawn as a set of valid (possibly negative) axes, or
left out (reduce everything); keepdims and noop_with_empty_axes both ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx, Example
from ..values import axis_of, shapes
from ._build import F3, FLOATS, INTS, const_int64, fixed, reduced_axis

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


def _reduce(op: str, domain: str = "any", tol: str = "reduction") -> list[Case]:
    return [
        Case(
            op,
            (Arg(domain), const_int64(_axes_input)),
            REDUCE_DTYPES,
            shapes=_ONE,
            attrs=_input_axes,
            tol=tol,
            reduced=_reduced_length,
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
    x_shape = ctx.shapes[0]
    n = x_shape[ctx.attrs["axis"] % len(x_shape)]
    return [ctx.draw(st.integers(0, n))]


CASES += [
    Case(
        "ArgMax",
        (Arg("int_valued"),),
        FLOATS + INTS,
        shapes=_NONEMPTY_AXIS,
        attrs=_arg_attrs,
        tol="exact",
    ),  # fmt: skip
    Case(
        "ArgMin",
        (Arg("int_valued"),),
        FLOATS + INTS,
        shapes=_NONEMPTY_AXIS,
        attrs=_arg_attrs,
        tol="exact",
    ),  # fmt: skip
    Case(
        "CumSum",
        (Arg("int_valued"), const_int64(_cum_axis)),
        FLOATS + ("int32", "int64"),
        shapes=_NONEMPTY_AXIS,
        attrs=_cum_attrs,
        tol="reduction",
        reduced=lambda ex: max(ex.inputs[0].shape, default=1),
    ),  # fmt: skip
    Case(
        "CumProd",
        (Arg("small"), const_int64(_cum_axis)),
        FLOATS + ("int32", "int64"),
        shapes=_NONEMPTY_AXIS,
        attrs=_cum_attrs,
        tol="reduction",
        reduced=lambda ex: max(ex.inputs[0].shape, default=1),
    ),  # fmt: skip
    # distinct values: which of two equal elements TopK returns is not specified
    Case(
        "TopK",
        (Arg("distinct"), const_int64(_k)),
        F3 + ("int32", "int64"),
        shapes=_NONEMPTY_AXIS,
        attrs=_topk_attrs,
        outputs=2,
        tol="exact",
    ),  # fmt: skip
    Case(
        "LpNormalization",
        (Arg("nonzero"),),
        FLOATS,
        shapes=_NONEMPTY_AXIS,
        attrs=lambda s: st.fixed_dictionaries(
            {"axis": axis_of(len(s[0])), "p": st.sampled_from([1, 2])}
        ),
        reduced=reduced_axis(),
    ),  # fmt: skip
]
_ = fixed
