"""Indexing: Gather*, Scatter*, OneHot, NonZero, Compress, ReverseSequence, Where-like selection.

Indices are valid for their axis (negative forms included); scatter indices are unique where the
reduction is "none" (duplicates make the result order-dependent, which ONNX leaves unspecified).
Versions: GatherND-11 (no batch_dims), ScatterElements and ScatterND 11 (no reduction) and 16
(add, mul), OneHot-9 (no negative indices). The edges enumerate every axis (negative too),
batch_dims, each reduction, and 17/33/65-long axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import axis_of, make, shapes
from ._build import F3, NUMERIC
from ._edges import UNARY_EDGES, grid

ALL = NUMERIC + ("bool",)
_RANKED = shapes(min_rank=1, max_rank=3, min_side=1).map(lambda s: (s,))


def _axis(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": axis_of(len(shapes_[0]))})


def _indices(n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, n, size=shape)
    return np.where(rng.random(shape) < 0.3, idx - n, idx).astype(np.int64)  # negative forms


def _gather_idx(ctx: Ctx) -> np.ndarray:
    n = ctx.shapes[0][ctx.attrs["axis"]]
    shape = ctx.attrs.pop("_idx") if "_idx" in ctx.attrs else ctx.draw(shapes(0, 2, max_side=3))
    return _indices(n, shape, ctx.rng)


def _elements_idx(ctx: Ctx, partial: bool = False) -> np.ndarray:
    """Indices of the data's shape except along the axis; `partial`: also smaller elsewhere, and
    possibly empty (both allowed by ONNX and ONNX Runtime)."""
    data, axis = ctx.shapes[0], ctx.attrs["axis"]
    lo = 0 if partial else 1
    shape = tuple(
        (ctx.draw(st.integers(1, d)) if partial else d)
        if i != axis % len(data)
        else ctx.draw(st.integers(lo, 4))
        for i, d in enumerate(data)
    )
    return _indices(data[axis], shape, ctx.rng)


def _nd_idx(ctx: Ctx) -> np.ndarray:
    data, b = ctx.shapes[0], ctx.attrs.get("batch_dims", 0)
    depth = ctx.draw(st.integers(1, len(data) - b))
    outer = ctx.draw(shapes(0, 2, min_side=1, max_side=3))
    batch = tuple(data[:b])
    cols = [ctx.rng.integers(0, data[b + k], size=batch + outer) for k in range(depth)]
    return np.stack(cols, axis=-1).astype(np.int64)


def _unique_rows(ctx: Ctx) -> np.ndarray:
    """ScatterElements indices: along the axis, a permutation slice, so no two updates collide."""
    data, axis = ctx.shapes[0], ctx.attrs["axis"] % len(ctx.shapes[0])
    k = ctx.draw(st.integers(1, data[axis]))
    shape = list(data)
    shape[axis] = k
    perm = np.argsort(ctx.rng.random(tuple(shape[:axis]) + (data[axis],) + tuple(shape[axis + 1:])),
                      axis=axis)  # fmt: skip
    return np.take(perm, np.arange(k), axis=axis).astype(np.int64)


def _updates_like(index: int) -> Arg:
    return Arg(lambda c: make("any", c.inputs[index].shape, c.dtype, c.rng))


def _nd_unique(ctx: Ctx) -> np.ndarray:
    data = ctx.shapes[0]
    depth = ctx.draw(st.integers(1, len(data)))
    total = int(np.prod(data[:depth]))
    picks = ctx.rng.permutation(total)[: ctx.draw(st.integers(1, min(total, 6)))]
    return np.stack(np.unravel_index(picks, data[:depth]), axis=-1).astype(np.int64)


def _nd_updates(ctx: Ctx) -> np.ndarray:
    idx, data = ctx.inputs[1], ctx.shapes[0]
    return make("any", idx.shape[:-1] + tuple(data[idx.shape[-1] :]), ctx.dtype, ctx.rng)


_REDUCTION = st.sampled_from(["none", "none", "add", "mul", "max", "min"])
_AXES = grid([((3, 17),)], axis=[0, 1, -1, -2]) + grid([((65,),), ((2, 3, 9),)], axis=[-1])
_GATHER_EDGES = tuple(
    ((x,), {"axis": a, "_idx": i})
    for x, a, i in (((3, 17), 0, (2, 3)), ((3, 17), 1, (2, 3)), ((3, 17), -1, (9,)),
                    ((65,), 0, (33,)), ((2, 3, 4), -2, ()), ((2, 33), 1, (1, 17)))
)  # fmt: skip
_BATCH = grid([((2, 3, 17),), ((3, 33),)], batch_dims=[0, 1])


def _scatter_elements(since: int, reduction: bool) -> Case:
    reductions = ["add", "mul"] + (["max", "min"] if since >= 18 else [])
    attrs = _axis if not reduction else lambda s: _axis(s).flatmap(
        lambda d: st.sampled_from(reductions).map(lambda r: dict(d, reduction=r)))  # fmt: skip
    edges = _AXES if not reduction else grid([((3, 17),), ((65,),)], axis=[-1],
                                             reduction=reductions)  # fmt: skip
    newest = since == 18
    return Case("ScatterElements",
                (Arg("small" if reduction else "any"), Arg(_unique_rows, dtype="int64"),
                 _updates_like(1)),
                (F3 + ("int32", "int64")) if reduction else ALL if newest else F3 + ("int64",),
                shapes=_RANKED, attrs=attrs, tol="default" if reduction else "exact",
                opset=None if newest else since,
                variant="_".join(p for p in ("reduction" if reduction else "",
                                             "" if newest else f"opset{since}") if p),
                edges=edges)  # fmt: skip


def _scatter_nd(since: int, reduction: bool) -> Case:
    reductions = ["none", "add", "mul"] + (["max", "min"] if since >= 18 else [])
    newest = since == 18
    return Case("ScatterND",
                (Arg("small" if reduction else "any"), Arg(_nd_unique, dtype="int64"),
                 Arg(_nd_updates)),
                (F3 + ("int32", "int64")) if reduction else ALL if newest else F3 + ("int64",),
                shapes=_RANKED, tol="default" if reduction else "exact",
                attrs=(lambda s: st.fixed_dictionaries({"reduction": st.sampled_from(reductions)}))
                if reduction else lambda s: st.just({}),
                opset=None if newest else since,
                variant="_".join(p for p in ("reduction" if reduction else "",
                                             "" if newest else f"opset{since}") if p),
                edges=grid([((3, 17),), ((65,),), ((2, 3, 9),)],
                           reduction=reductions if reduction else [None]))  # fmt: skip


def _one_hot_indices(since: int):
    def make(ctx: Ctx) -> np.ndarray:
        low = -5 if since >= 11 else 0
        return ctx.rng.integers(low, 7, size=ctx.shapes[0])  # 5, 6: out of range, all off

    return Arg(make, dtype="int64")


def _one_hot(since: int) -> Case:
    return Case(
        "OneHot",
        (
            _one_hot_indices(since),
            Arg(lambda c: np.asarray(5, np.int64), dtype="int64", const=True),
            Arg(lambda c: np.asarray([0, 3]).astype(c.dtype), const=True),
        ),
        ("int64",),
        shapes=shapes(1, 3).map(lambda s: (s,)),  # ONNX: indices of rank >= 1
        tol="exact",
        attrs=lambda s: st.fixed_dictionaries({"axis": st.integers(-len(s[0]) - 1, len(s[0]))}),
        opset=None if since == 11 else since,
        variant="" if since == 11 else f"opset{since}",
        edges=grid([((3, 17),)], axis=[-1, 0, 1, 2, -3]) + grid([((65,),), ((1,),)], axis=[-1]),
    )


def _seq_lens(ctx: Ctx) -> np.ndarray:
    x, attrs = ctx.shapes[0], ctx.attrs
    time_len, batch = x[attrs["time_axis"]], x[attrs["batch_axis"]]
    return ctx.rng.integers(0, time_len + 1, size=batch)


CASES: list[Case] = [
    Case("Gather", (Arg("any"), Arg(_gather_idx, dtype="int64")), ALL, shapes=_RANKED,
         attrs=_axis, tol="exact", edges=_GATHER_EDGES),
    Case("GatherElements", (Arg("any"), Arg(_elements_idx, dtype="int64")), ALL,
         shapes=_RANKED, attrs=_axis, tol="exact", edges=_AXES),
    Case("GatherElements", (Arg("any"), Arg(lambda c: _elements_idx(c, True), dtype="int64")),
         F3, shapes=_RANKED, attrs=_axis, tol="exact", variant="partial_indices", edges=_AXES),
    Case("GatherND", (Arg("any"), Arg(_nd_idx, dtype="int64")), ALL, shapes=_RANKED,
         tol="exact", edges=_BATCH,
         attrs=lambda s: st.fixed_dictionaries({"batch_dims": st.integers(0, len(s[0]) - 1)})),
    Case("GatherND", (Arg("any"), Arg(_nd_idx, dtype="int64")), F3 + ("int64",), shapes=_RANKED,
         tol="exact", opset=11, variant="opset11", edges=grid([((2, 3, 17),), ((65,),)])),
    _scatter_elements(18, False),
    _scatter_elements(16, False),
    _scatter_elements(11, False),
    _scatter_elements(18, True),
    _scatter_elements(16, True),
    Case("Scatter", (Arg("any"), Arg(_unique_rows, dtype="int64"), _updates_like(1)), F3,
         shapes=_RANKED, attrs=_axis, tol="exact", opset=10, edges=_AXES),
    _scatter_nd(18, False),
    _scatter_nd(16, False),
    _scatter_nd(11, False),
    _scatter_nd(18, True),
    _scatter_nd(16, True),
    _one_hot(11),
    _one_hot(9),
    Case("NonZero", (Arg("small"),), ALL, shapes=shapes().map(lambda s: (s,)), tol="exact",
         edges=UNARY_EDGES),
    Case("Compress", (Arg("any"), Arg(lambda c: c.rng.random(c.draw(st.integers(
        0, c.shapes[0][c.attrs["axis"]]))) < 0.5, dtype="bool")), ALL, shapes=_RANKED,
         attrs=_axis, tol="exact", edges=_AXES),
    Case("ReverseSequence", (Arg("any"), Arg(_seq_lens, dtype="int64")), ALL,
         shapes=shapes(2, 3, min_side=1).map(lambda s: (s,)), tol="exact",
         attrs=lambda s: st.sampled_from([{"time_axis": 0, "batch_axis": 1},
                                          {"time_axis": 1, "batch_axis": 0}]),
         edges=grid([((17, 3),), ((3, 33, 2),)], time_axis=[0], batch_axis=[1])
         + grid([((3, 17),)], time_axis=[1], batch_axis=[0])),
]  # fmt: skip
