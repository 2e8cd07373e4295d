"""Layout and shape-producing ops: Pad (2, 11, 18, 19), DepthToSpace (1, 11), SpaceToDepth
(1, 28), Shape (1, 15), Size, ConstantOfShape, Range (11, 27), Trilu, EyeLike.

The edges enumerate every pad mode with crops (negative pads) and per-axis pads (Pad-18 axes),
both depth/space orders, Shape's clamped start/end, Trilu's diagonal offsets, Range's negative
and fractional deltas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import shapes
from ._build import F3, INTS, NUMERIC, const_int64, fixed, scalar
from ._edges import UNARY_EDGES, grid

ALL = NUMERIC + ("bool",)
OLD = ("float32", "float16", "int64", "int8", "bool")
_ANY = shapes().map(lambda s: (s,))
_RANKED = shapes(min_rank=1).map(lambda s: (s,))


def _pads(ctx: Ctx) -> list[int]:
    if "_pads" in ctx.attrs:
        return ctx.attrs.pop("_pads")
    rank = len(ctx.shapes[0]) if "_axes" not in ctx.attrs else len(ctx.attrs["_axes"])
    constant = ctx.attrs.get("mode", "constant") == "constant"
    lo = -1 if constant and all(d >= 2 for d in ctx.shapes[0]) else 0  # crop where possible
    return [ctx.draw(st.integers(lo, 2)) for _ in range(2 * rank)]


def _pad_mode(modes: tuple[str, ...]):
    def attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
        nonempty = all(d > 2 for d in shapes_[0])  # reflect needs more than the pad on each side
        choice = ["constant"] + (["edge"] if all(shapes_[0]) else [])
        choice += [m for m in modes if m in ("reflect", "wrap")] if nonempty else []
        return st.sampled_from(choice).map(lambda m: {"mode": m})

    return attrs


def _pad_axes(ctx: Ctx) -> list[int] | None:
    if "_axes" in ctx.attrs:
        return ctx.attrs.pop("_axes")
    return None


_PAD_TABLE = (((3, 17), [1, 2, 0, 3]), ((2, 33), [0, 1, 0, 2]), ((65,), [2, 1]),
              ((3, 4, 5), [1, 0, 2, 2, 1, 0]))  # fmt: skip
_CROPS = (((3, 17), [0, -2, 1, -1]), ((4, 9), [-1, 0, -2, 3]))


def pad_edges(modes: tuple[str, ...], axes: bool) -> tuple:
    out = [((x,), {"mode": m, "_pads": p}) for x, p in _PAD_TABLE for m in modes]
    out += [((x,), {"mode": "constant", "_pads": p}) for x, p in _CROPS]
    if axes:
        out += [(((3, 17),), {"mode": m, "_axes": [-1], "_pads": [2, 3]}) for m in modes[:2]]
        out += [(((2, 3, 9),), {"mode": "constant", "_axes": [0, 2], "_pads": [1, -1, 0, 2]})]
    return tuple(out)


def _pad(since: int) -> Case:
    modes = ("constant", "reflect", "edge") + (("wrap",) if since >= 19 else ())
    args = [Arg("any"), const_int64(_pads), scalar(1.5)]
    if since >= 18:
        args.append(const_int64(_pad_axes))
    return Case("Pad", tuple(args), NUMERIC if since == 19 else F3 + ("int64",), shapes=_RANKED,
                attrs=_pad_mode(modes), tol="exact", opset=None if since == 19 else since,
                variant="" if since == 19 else f"opset{since}",
                edges=pad_edges(modes, since >= 18))  # fmt: skip


def _delta(ctx: Ctx) -> np.ndarray:
    if "_delta" in ctx.attrs:
        delta = ctx.attrs.pop("_delta")
        if ctx.inputs[0].dtype.kind != "f":
            delta = int(delta) or 1
        return np.asarray(delta, dtype=ctx.inputs[0].dtype)
    choices = [1, 2, -1, 0.5] if ctx.inputs[0].dtype.kind == "f" else [1, 2, -1, 3]
    return np.asarray(ctx.draw(st.sampled_from(choices)), dtype=ctx.inputs[0].dtype)


def _bound(name: str, default: float):
    def make(ctx: Ctx) -> np.ndarray:
        value = ctx.attrs.get(name, default)
        return np.asarray(value).astype(ctx.dtype)

    return Arg(make, const=True)


@st.composite
def _blocks(draw: Any, to_space: bool, mode: bool) -> tuple[Any, ...]:
    b = draw(st.integers(1, 3))
    n, c = draw(st.integers(1, 2)), draw(st.sampled_from([1, 2, 3, 17]))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = (n, c * b * b, h, w) if to_space else (n, c, h * b, w * b)
    modes = {"mode": draw(st.sampled_from(["DCR", "CRD"]))} if mode else {}
    return (x, {"blocksize": b, **modes})


def _block_edges(to_space: bool, mode: bool) -> tuple:
    out = []
    for c, b, h, w in ((2, 2, 3, 2), (17, 2, 1, 3), (1, 3, 2, 1), (3, 1, 2, 2)):
        x = (1, c * b * b, h, w) if to_space else (2, c, h * b, w * b)
        for m in ("DCR", "CRD") if mode else (None,):
            out.append(((x, {"blocksize": b, **({"mode": m} if m else {})}), None))
    return tuple(out)


def _depth_space(op: str, since: int, newest: int) -> Case:
    to_space = op == "DepthToSpace"
    mode = since > 1
    return Case(op, (Arg("any"),), ALL if since == newest else OLD,
                shapes=_blocks(to_space, mode), attrs=lambda s: st.just(dict(s[1])), tol="exact",
                opset=None if since == newest else 9, edges=_block_edges(to_space, mode),
                variant="" if since == newest else "opset9")  # fmt: skip


_SHAPE_ATTRS = [{}, {"start": 1}, {"end": -1}, {"start": -2, "end": 3}, {"start": -10},
                {"end": 10}, {"start": 2, "end": 1}]  # fmt: skip

CASES: list[Case] = [
    *(_pad(v) for v in (19, 18, 11)),
    Case("Pad", (Arg("any"),), F3, shapes=_RANKED, opset=2, variant="opset2", tol="exact",
         attrs=lambda s: st.fixed_dictionaries(
             {"pads": st.lists(st.integers(0, 2), min_size=2 * len(s[0]),
                               max_size=2 * len(s[0])), "value": st.just(0.5)}),
         edges=tuple(((x,), {"mode": m, "pads": [abs(v) for v in p], "value": 0.5})
                     for x, p in _PAD_TABLE for m in ("constant", "reflect", "edge"))),
    _depth_space("DepthToSpace", 11, 11),
    _depth_space("DepthToSpace", 1, 11),
    _depth_space("SpaceToDepth", 28, 28),
    _depth_space("SpaceToDepth", 1, 28),
    Case("Shape", (Arg("any"),), ALL, shapes=_ANY, tol="exact",
         attrs=lambda s: st.sampled_from(_SHAPE_ATTRS),
         edges=tuple((((2, 3, 17),), a) for a in _SHAPE_ATTRS)
         + ((((),), {}), (((65,),), {"start": 0}))),
    Case("Shape", (Arg("any"),), OLD, shapes=_ANY, tol="exact", opset=13, variant="opset13",
         edges=UNARY_EDGES),
    Case("Size", (Arg("any"),), ALL, shapes=_ANY, tol="exact", edges=UNARY_EDGES),
    Case("ConstantOfShape", (const_int64(lambda c: list(c.shapes[0])),), ("int64",),
         shapes=_ANY, tol="exact",
         attrs=lambda s: st.sampled_from([{}, {"value": np.array([2.5], np.float32)},
                                          {"value": np.array([7], np.int32)}]),
         edges=tuple(((x,), a) for x, a in (((3, 17), {}), ((65,), {"value": np.array(
             [2.5], np.float32)}), ((), {"value": np.array([7], np.int32)}),
             ((2, 0), {}), ((2, 2, 9), {"value": np.array([True])})))),
    *(Case("Range", (_bound("_start", -3.0), _bound("_limit", 7.5), Arg(_delta, const=True)),
           F3 + ("bfloat16", "int32", "int64", "int16") if v == 27 else F3 + ("int32", "int64"),
           shapes=st.just(()), tol="default", opset=None if v == 27 else v,
           variant="" if v == 27 else f"opset{v}",
           edges=tuple(((), {"_start": a, "_limit": b, "_delta": d}) for a, b, d in (
               (-3, 7.5, 1), (10, -7, -2), (0, 65, 1), (5, 5, 1), (0, 1, 0.25), (2, 9, 3))))
      for v in (27, 11)),
    Case("Trilu", (Arg("any"), Arg(lambda c: c.attrs.pop("_k") if "_k" in c.attrs else (
        None if c.draw(st.booleans()) else np.asarray(c.draw(st.integers(-3, 3)), np.int64)),
        dtype="int64", const=True)), ALL, shapes=shapes(min_rank=2).map(lambda s: (s,)),
         tol="exact", attrs=lambda s: st.fixed_dictionaries({"upper": st.sampled_from([0, 1])}),
         edges=tuple(((x,), {"upper": u, "_k": None if k is None else np.asarray(k, np.int64)})
                     for x in ((3, 17), (17, 3), (2, 9, 9)) for u in (0, 1)
                     for k in ((None, 2) if x == (2, 9, 9) else (-1, 5)))),
    Case("EyeLike", (Arg("any"),), F3 + INTS, shapes=shapes(2, 2).map(lambda s: (s,)),
         tol="exact", attrs=fixed(k=st.integers(-2, 2)),
         edges=grid([((3, 17),), ((17, 3),), ((33, 2),)], k=[-2, 0, 3])),
]  # fmt: skip
