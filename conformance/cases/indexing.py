"""Indexing: Gather*, Scatter*, OneHot, NonZero, Compress, ReverseSequence, Where-like selection.

Indices are valid for their axis (negative forms included); scatter indices are unique where the
reduction is "none" (duplicates make the result order-dependent, which ONNX leaves unspecified).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import axis_of, make, shapes
from ._build import F3, FLOATS, NUMERIC, const_int64

ALL = NUMERIC + ("bool",)
_RANKED = shapes(min_rank=1, max_rank=3, min_side=1).map(lambda s: (s,))


def _axis(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": axis_of(len(shapes_[0]))})


def _indices(n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, n, size=shape)
    return np.where(rng.random(shape) < 0.3, idx - n, idx).astype(np.int64)  # negative forms


def _gather_idx(ctx: Ctx) -> np.ndarray:
    n = ctx.shapes[0][ctx.attrs["axis"]]
    return _indices(n, ctx.draw(shapes(0, 2, max_side=3)), ctx.rng)


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


CASES: list[Case] = [
    Case(
        "Gather",
        (Arg("any"), Arg(_gather_idx, dtype="int64")),
        ALL,
        shapes=_RANKED,
        attrs=_axis,
        tol="exact",
    ),  # fmt: skip
    Case(
        "GatherElements",
        (Arg("any"), Arg(_elements_idx, dtype="int64")),
        ALL,
        shapes=_RANKED,
        attrs=_axis,
        tol="exact",
    ),  # fmt: skip
    Case(
        "GatherElements",
        (Arg("any"), Arg(lambda c: _elements_idx(c, True), dtype="int64")),
        F3,
        shapes=_RANKED,
        attrs=_axis,
        tol="exact",
        variant="partial_indices",
    ),  # fmt: skip
    Case(
        "GatherND",
        (Arg("any"), Arg(_nd_idx, dtype="int64")),
        ALL,
        shapes=_RANKED,
        tol="exact",
        attrs=lambda s: st.fixed_dictionaries({"batch_dims": st.integers(0, len(s[0]) - 1)}),
    ),
    Case(
        "ScatterElements",
        (Arg("any"), Arg(_unique_rows, dtype="int64"), _updates_like(1)),
        ALL,
        shapes=_RANKED,
        attrs=_axis,
        tol="exact",
    ),  # fmt: skip
    Case(
        "ScatterElements",
        (Arg("small"), Arg(_unique_rows, dtype="int64"), _updates_like(1)),
        F3 + ("int32", "int64"),
        shapes=_RANKED,
        variant="reduction",
        tol="default",
        attrs=lambda s: _axis(s).map(lambda d: dict(d, reduction="add")),
    ),  # fmt: skip
    Case(
        "Scatter",
        (Arg("any"), Arg(_unique_rows, dtype="int64"), _updates_like(1)),
        F3,
        shapes=_RANKED,
        attrs=_axis,
        tol="exact",
        opset=10,
    ),  # fmt: skip
    Case(
        "ScatterND",
        (Arg("any"), Arg(_nd_unique, dtype="int64"), Arg(_nd_updates)),
        ALL,
        shapes=_RANKED,
        tol="exact",
    ),  # fmt: skip
    Case(
        "ScatterND",
        (Arg("small"), Arg(_nd_unique, dtype="int64"), Arg(_nd_updates)),
        F3 + ("int32", "int64"),
        shapes=_RANKED,
        variant="reduction",
        attrs=lambda s: st.fixed_dictionaries({"reduction": _REDUCTION}),
    ),  # fmt: skip
    Case(
        "OneHot",
        (
            Arg(lambda c: c.rng.integers(-5, 5, size=c.shapes[0]), dtype="int64"),
            Arg(lambda c: np.asarray(5, np.int64), dtype="int64", const=True),
            Arg(lambda c: np.asarray([0, 3]).astype(c.dtype), const=True),
        ),
        ("int64",),
        shapes=shapes(0, 3).map(lambda s: (s,)),
        tol="exact",
        attrs=lambda s: st.fixed_dictionaries({"axis": st.integers(-len(s[0]) - 1, len(s[0]))}),
    ),
    Case("NonZero", (Arg("small"),), ALL, shapes=shapes().map(lambda s: (s,)), tol="exact"),
    Case(
        "Compress",
        (
            Arg("any"),
            Arg(
                lambda c: c.rng.random(c.draw(st.integers(0, c.shapes[0][c.attrs["axis"]]))) < 0.5,
                dtype="bool",
            ),
        ),
        ALL,
        shapes=_RANKED,
        attrs=_axis,
        tol="exact",
    ),  # fmt: skip
    Case(
        "ReverseSequence",
        (
            Arg("any"),
            Arg(
                lambda c: c.rng.integers(0, c.shapes[0][0] + 1, size=c.shapes[0][1]), dtype="int64"
            ),
        ),
        ALL,
        shapes=shapes(2, 3, min_side=1).map(lambda s: (s,)),
        tol="exact",
        attrs=lambda s: st.just({"time_axis": 0, "batch_axis": 1}),
    ),  # fmt: skip
]
_ = (FLOATS, const_int64)
