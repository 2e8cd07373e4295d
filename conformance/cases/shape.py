"""Shape and layout ops: Reshape, Transpose, Concat, Split, Slice, (Un)Squeeze, Flatten, Expand,
Tile, Pad, DepthToSpace/SpaceToDepth, Shape, Size, ConstantOfShape, Range, Trilu, EyeLike."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import MAX_ELEMENTS, axis_of, nchw, shapes
from ._build import F3, FLOATS, INTS, NUMERIC, const_int64, fixed, scalar

ALL = NUMERIC + ("bool",)
_ANY = shapes().map(lambda s: (s,))
_RANKED = shapes(min_rank=1).map(lambda s: (s,))


def _rank(ctx: Ctx) -> int:
    return len(ctx.shapes[0])


def _reshape_target(ctx: Ctx) -> list[int]:
    shape = list(ctx.shapes[0])
    size = int(np.prod(shape))
    if size == 0:
        return shape  # 0 in a target copies the input dim (allowzero=0)
    dims, rest = [], size
    for _ in range(ctx.draw(st.integers(0, 3))):
        d = ctx.draw(st.sampled_from([k for k in range(1, rest + 1) if rest % k == 0]))
        dims.append(d)
        rest //= d
    dims.append(rest)
    if ctx.draw(st.booleans()):
        dims[ctx.draw(st.integers(0, len(dims) - 1))] = -1
    return dims


def _perm(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    rank = len(shapes_[0])
    return st.one_of(st.just({}), st.permutations(range(rank)).map(lambda p: {"perm": list(p)}))


@st.composite
def _concat_shapes(draw: Any) -> tuple[Any, ...]:
    base = list(draw(shapes(min_rank=1, max_side=4)))
    axis = draw(axis_of(len(base)))
    out = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(0, 3))
        out.append(tuple(base))
    return (*out, *([None] * (3 - len(out))), {"axis": axis})


def _split_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": axis_of(len(shapes_[0]))})


def _split_sizes(ctx: Ctx) -> list[int]:
    n = ctx.shapes[0][ctx.attrs["axis"]]
    first = ctx.draw(st.integers(0, n))
    return [first, n - first]


def _slice_arg(which: int):
    def make(ctx: Ctx) -> list[int] | None:
        key = "_slice"
        if key not in ctx.attrs:
            ctx.attrs[key] = ctx.draw(_slice_params(ctx.shapes[0]))
        value = ctx.attrs[key][which]
        if which == 3:
            ctx.attrs.pop(key)
        return value

    return const_int64(make)


@st.composite
def _slice_params(draw: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    bound = st.integers(-8, 8) | st.sampled_from([2**62, -(2**62)])
    starts = [draw(bound) for _ in axes]
    ends = [draw(bound) for _ in axes]
    steps = [draw(st.sampled_from([1, 1, 2, -1, -2])) for _ in axes]
    neg_axes = [a - len(shape) if draw(st.booleans()) else a for a in axes]
    return (starts, ends, neg_axes, steps)


def _squeezable(ctx: Ctx) -> list[int] | None:
    ones = [i for i, d in enumerate(ctx.shapes[0]) if d == 1]
    if not ones or not ctx.draw(st.booleans()):
        return None if not ones or ctx.draw(st.booleans()) else ones
    return ctx.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))


def _unsqueeze_axes(ctx: Ctx) -> list[int]:
    rank = _rank(ctx) + ctx.draw(st.integers(1, 2))
    axes = ctx.draw(st.lists(st.integers(0, rank - 1), min_size=rank - _rank(ctx),
                             max_size=rank - _rank(ctx), unique=True))  # fmt: skip
    return [a - rank if ctx.draw(st.booleans()) else a for a in axes]


def _expand_to(ctx: Ctx) -> list[int]:
    shape = list(ctx.shapes[0])
    target = [d if d != 1 else ctx.draw(st.sampled_from([1, 2, 3])) for d in shape]
    target = [1] * ctx.draw(st.integers(0, 1)) + target
    while int(np.prod(target)) > MAX_ELEMENTS:
        target = shape
    return [1 if d != 1 and ctx.draw(st.integers(0, 3)) == 0 else d for d in target]


def _repeats(ctx: Ctx) -> list[int]:
    reps = [ctx.draw(st.integers(0, 2)) for _ in ctx.shapes[0]]
    return reps if int(np.prod(ctx.shapes[0])) * int(np.prod(reps)) <= 4 * MAX_ELEMENTS else [
        1 for _ in reps]  # fmt: skip


def _pads(ctx: Ctx) -> list[int]:
    rank = _rank(ctx)
    constant = ctx.attrs.get("mode", "constant") == "constant"
    lo = -1 if constant and all(d >= 2 for d in ctx.shapes[0]) else 0  # crop where possible
    return [ctx.draw(st.integers(lo, 2)) for _ in range(2 * rank)]


def _pad_mode(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    nonempty = all(d > 2 for d in shapes_[0])  # reflect needs more than the pad on each side
    modes = ["constant", "edge"] + (["reflect", "wrap"] if nonempty else [])
    return st.sampled_from(modes).map(lambda m: {"mode": m})


def _delta(ctx: Ctx) -> np.ndarray:
    choices = [1, 2, -1, 0.5] if ctx.inputs[0].dtype.kind == "f" else [1, 2, -1, 3]
    return np.asarray(ctx.draw(st.sampled_from(choices)), dtype=ctx.inputs[0].dtype)


@st.composite
def _blocks(draw: Any, to_space: bool) -> tuple[Any, ...]:
    b = draw(st.integers(1, 3))
    n, c, h, w = draw(nchw(max_c=2, max_hw=3))
    x = (n, c * b * b, h, w) if to_space else (n, c, h * b, w * b)
    return (x, {"blocksize": b, **({"mode": draw(st.sampled_from(["DCR", "CRD"]))}
                                   if to_space else {})})  # fmt: skip


CASES: list[Case] = [
    Case("Reshape", (Arg("any"), const_int64(_reshape_target)), ALL, shapes=_ANY, tol="exact"),
    Case("Transpose", (Arg("any"),), ALL, shapes=_ANY, attrs=_perm, tol="exact"),
    Case("Concat", (Arg("any"),) * 3, ALL, shapes=_concat_shapes(),
         attrs=lambda s: st.just(dict(s[-1])), tol="exact"),  # fmt: skip
    Case("Split", (Arg("any"), const_int64(_split_sizes)), ALL, shapes=_RANKED,
         attrs=_split_attrs, outputs=2, tol="exact"),  # fmt: skip
    Case("Split", (Arg("any"),), F3 + INTS, shapes=shapes(1, 3, min_side=3).map(lambda s: (s,)),
         outputs=3, variant="num_outputs",
         attrs=lambda s: _split_attrs(s).map(lambda d: dict(d, num_outputs=3)),
         tol="exact"),  # fmt: skip
    Case("Slice", (Arg("any"), _slice_arg(0), _slice_arg(1), _slice_arg(2), _slice_arg(3)), ALL,
         shapes=_RANKED, tol="exact"),  # fmt: skip
    Case("Squeeze", (Arg("any"), const_int64(_squeezable)), ALL,
         shapes=shapes(max_side=2).map(lambda s: (s,)), tol="exact"),  # fmt: skip
    Case("Unsqueeze", (Arg("any"), const_int64(_unsqueeze_axes)), ALL, shapes=_ANY, tol="exact"),
    Case("Flatten", (Arg("any"),), ALL, shapes=_ANY, tol="exact",
         attrs=lambda s: st.fixed_dictionaries(
             {"axis": st.integers(-len(s[0]), len(s[0]))})),  # fmt: skip
    Case("Expand", (Arg("any"), const_int64(_expand_to)), ALL,
         shapes=shapes(max_side=3).map(lambda s: (s,)), tol="exact"),  # fmt: skip
    Case("Tile", (Arg("any"), const_int64(_repeats)), ALL, shapes=_ANY, tol="exact"),
    Case("Pad", (Arg("any"), const_int64(_pads), scalar(1.5)), NUMERIC, shapes=_RANKED,
         attrs=_pad_mode, tol="exact"),  # fmt: skip
    Case("Pad", (Arg("any"),), F3, shapes=_RANKED, opset=2, variant="opset2", tol="exact",
         attrs=lambda s: st.fixed_dictionaries(
             {"pads": st.lists(st.integers(0, 2), min_size=2 * len(s[0]),
                               max_size=2 * len(s[0])), "value": st.just(0.5)})),  # fmt: skip
    Case("DepthToSpace", (Arg("any"),), ALL, shapes=_blocks(True),
         attrs=lambda s: st.just(dict(s[1])), tol="exact"),  # fmt: skip
    Case("SpaceToDepth", (Arg("any"),), ALL, shapes=_blocks(False),
         attrs=lambda s: st.just(dict(s[1])), tol="exact"),  # fmt: skip
    Case("Shape", (Arg("any"),), ALL, shapes=_ANY, tol="exact",
         attrs=lambda s: st.sampled_from([{}, {"start": 1}, {"end": -1}, {"start": -2, "end": 3}])),
    Case("Size", (Arg("any"),), ALL, shapes=_ANY, tol="exact"),
    Case("ConstantOfShape", (const_int64(lambda c: list(c.shapes[0])),), ("int64",),
         shapes=_ANY, tol="exact",
         attrs=lambda s: st.sampled_from([{}, {"value": np.array([2.5], np.float32)},
                                          {"value": np.array([7], np.int32)}])),  # fmt: skip
    Case("Range", (scalar(-3.0), scalar(7.5), Arg(_delta, const=True)),
         FLOATS[:3] + ("int32", "int64", "int16"), shapes=st.just(()), tol="default"),
    Case("Trilu", (Arg("any"), Arg(lambda c: None if c.draw(st.booleans()) else np.asarray(
        c.draw(st.integers(-3, 3)), np.int64), dtype="int64", const=True)), ALL,
         shapes=shapes(min_rank=2).map(lambda s: (s,)), tol="exact",
         attrs=lambda s: st.fixed_dictionaries({"upper": st.sampled_from([0, 1])})),
    Case("EyeLike", (Arg("any"),), F3 + INTS, shapes=shapes(2, 2).map(lambda s: (s,)),
         tol="exact", attrs=fixed(k=st.integers(-2, 2))),  # fmt: skip
]  # fmt: skip
