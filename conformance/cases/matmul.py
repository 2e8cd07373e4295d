"""MatMul, Gemm (versions 7 and 11), Einsum.

Inner dimensions, rows and columns come from BLOCK_SIZES in part of the draws (the tiles of a
blocked GEMM and their remainders); the edges enumerate vector operands, broadcast batches, k = 0,
every transA x transB x C-shape combination of Gemm (C is required before version 11), and
alpha/beta.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Edge, Example
from ..values import BLOCK_SIZES, MAX_ELEMENTS, broadcast
from ._edges import grid


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


@st.composite
def _mkn(draw: Any, low: int = 1) -> tuple[int, int, int]:
    """(m, k, n): small, or one or two of them from BLOCK_SIZES, within MAX_ELEMENTS each."""
    sides = [draw(st.integers(low if i != 1 else 1, 6)) for i in range(3)]
    for i in range(3):
        if draw(st.integers(0, 3)) == 0:
            sides[i] = draw(st.sampled_from(BLOCK_SIZES))
    m, k, n = sides
    while m * k > MAX_ELEMENTS or k * n > MAX_ELEMENTS:
        if k > max(m, n):
            k = max(1, k // 2)
        elif m >= n:
            m = max(1, m // 2)
        else:
            n = max(1, n // 2)
    return m, k, n


@st.composite
def _matmul_shapes(draw: Any) -> tuple[Any, ...]:
    m, k, n = draw(_mkn(low=0))
    batch = draw(broadcast(2, max_rank=2, min_side=1))
    if int(np.prod(batch[0])) * m * k > MAX_ELEMENTS or int(np.prod(batch[1])) * k * n > 4 * 512:
        batch = ((), ())
    a = (*batch[0], m, k) if draw(st.integers(0, 5)) else (k,)
    b = (*batch[1], k, n) if draw(st.integers(0, 5)) else (k,)
    return (a, b)


def _k_of(ex: Example) -> int:
    return max(1, ex.inputs[0].shape[-1])


@st.composite
def _gemm_shapes(draw: Any, c_required: bool = False) -> tuple[Any, ...]:
    m, k, n = draw(_mkn())
    ta, tb = draw(st.sampled_from([0, 1])), draw(st.sampled_from([0, 1]))
    c = draw(st.sampled_from([(m, n), (n,), (1, n), (m, 1), ()] + ([] if c_required else [None])))
    attrs = {"transA": ta, "transB": tb, "alpha": draw(st.sampled_from([1.0, 0.5, 2.0])),
             "beta": draw(st.sampled_from([1.0, 0.5, 0.0]))}  # fmt: skip
    return ((k, m) if ta else (m, k), (n, k) if tb else (k, n), c, attrs)


def gemm_edges(c_required: bool) -> tuple[Edge, ...]:
    """transA x transB x every C shape, on (m, k, n) = (3, 17, 9); then block sizes."""
    out = []
    m, k, n = 3, 17, 9
    for ta, tb in ((0, 0), (0, 1), (1, 0), (1, 1)):
        for c in [(m, n), (n,), (1, n), (m, 1), ()] + ([] if c_required else [None]):
            attrs = {"transA": ta, "transB": tb, "alpha": 1.0, "beta": 1.0}
            out.append((((k, m) if ta else (m, k), (n, k) if tb else (k, n), c, attrs), None))
    for (m, k, n), alpha, beta in (((1, 65, 1), 0.5, 2.0), ((17, 9, 33), 2.0, 0.0),
                                   ((8, 16, 32), 1.0, 0.5), ((33, 15, 7), 1.0, 1.0)):  # fmt: skip
        attrs = {"transA": 0, "transB": 1, "alpha": alpha, "beta": beta}
        out.append((((m, k), (n, k), (n,), attrs), None))
    return tuple(out)


def _gemm(since: int) -> Case:
    return Case(
        "Gemm",
        (Arg("any"), Arg("any", const=True), Arg("any", const=True)),
        ("float32", "float16", "float64", "bfloat16", "int32", "int64"),
        shapes=_gemm_shapes(c_required=since < 11),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: max(1, ex.inputs[0].shape[0 if ex.attrs["transA"] else 1]),
        opset=None if since == 11 else since,
        variant="" if since == 11 else f"opset{since}",
        edges=gemm_edges(c_required=since < 11),
    )


_EQUATIONS = {
    "ij,jk->ik": "ij jk", "bij,bjk->bik": "bij bjk", "ij->ji": "ij", "i,i->": "i i",
    "ii->i": "ii", "bhqd,bhkd->bhqk": "bhqd bhkd", "ij,j->i": "ij j", "ijk->": "ijk",
}  # fmt: skip


@st.composite
def _einsum_shapes(draw: Any) -> tuple[Any, ...]:
    eq = draw(st.sampled_from(sorted(_EQUATIONS)))
    size = {c: draw(st.integers(1, 4)) for c in "bhijkqd"}
    if draw(st.integers(0, 2)) == 0:
        size[draw(st.sampled_from("ijkd"))] = draw(st.sampled_from(BLOCK_SIZES[:11]))  # to 17
    shapes = tuple(tuple(size[c] for c in term) for term in _EQUATIONS[eq].split())
    return (*shapes, *([None] * (2 - len(shapes))), {"equation": eq})


_SIZES = {"b": 2, "h": 3, "i": 17, "j": 9, "k": 5, "q": 7, "d": 8}
_EINSUM_EDGES = tuple(
    ((*(tuple(_SIZES[c] for c in t) for t in terms.split()),
      *([None] * (2 - len(terms.split()))), {"equation": eq}), None)
    for eq, terms in sorted(_EQUATIONS.items())
)  # fmt: skip
_MATMUL_EDGES = grid(
    [
        ((1, 65), (65, 1)),
        ((3, 17), (17, 9)),
        ((17, 9), (9, 33)),
        ((2, 3, 17), (17, 8)),
        ((65,), (65, 3)),
        ((4, 33), (33,)),
        ((31,), (31,)),
        ((2, 1, 3, 16), (3, 16, 5)),
        ((0, 4), (4, 3)),
        ((3, 0), (0, 5)),
        ((8, 16), (16, 32)),
    ]  # fmt: skip
)

CASES: list[Case] = [
    Case(
        "MatMul",
        (Arg("any"), Arg("any")),
        ("float32", "float16", "float64", "bfloat16", "int32", "int64"),
        shapes=_matmul_shapes(),
        tol="matmul",
        reduced=_k_of,
        edges=_MATMUL_EDGES,
    ),  # fmt: skip
    _gemm(11),
    _gemm(7),
    Case(
        "Einsum",
        (Arg("any"), Arg("any")),
        ("float32", "float16", "float64", "int32", "int64"),
        shapes=_einsum_shapes(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: 64,
        edges=_EINSUM_EDGES,
    ),  # fmt: skip
]
