"""Shape ops: Reshape (5, 14), Transpose, Concat, Split (2, 13, 18), Slice (1, 10), Squeeze and
Unsqueeze (1, 13; axes an attribute, then an input), Flatten, Expand, Tile. Padding, depth/space,
Shape, Range and the like: layout.py.

Makers that draw dependent inputs (targets, axes, split sizes, slice parameters) take them from a
private attribute ("_shape", "_axes", "_split", "_slice", "_to", "_reps") when an edge gives one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import MAX_ELEMENTS, axis_of, shapes
from ._build import F3, INTS, NUMERIC, const_int64
from ._edges import UNARY_EDGES, grid

ALL = NUMERIC + ("bool",)
OLD = ("float32", "float16", "int64", "int8", "bool")  # older versions: one dtype per byte width
_ANY = shapes().map(lambda s: (s,))
_RANKED = shapes(min_rank=1).map(lambda s: (s,))
_R3 = (2, 3, 17)


def _rank(ctx: Ctx) -> int:
    return len(ctx.shapes[0])


def _given(ctx: Ctx, key: str) -> tuple[bool, Any]:
    """(True, value) if an edge gave the private attribute `key`."""
    return (True, ctx.attrs.pop(key)) if key in ctx.attrs else (False, None)


def _reshape_target(ctx: Ctx) -> list[int]:
    found, value = _given(ctx, "_shape")
    if found:
        return value
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


_RESHAPE_EDGES = tuple(
    ((x,), {"_shape": t})
    for x, t in (((2, 3, 17), [-1]), ((2, 3, 17), [6, 17]), ((2, 3, 17), [2, -1]),
                 ((2, 3, 17), [0, 51]), ((2, 3, 17), [17, 0, -1]), ((65,), [5, 13]),
                 ((65,), [1, 65, 1]), ((), [1]), ((0, 3), [0, 3]))
)  # fmt: skip


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


_CONCAT_EDGES = tuple(
    ((*xs, *([None] * (3 - len(xs))), {"axis": axis}), None)
    for xs, axis in ((((2, 17), (3, 17), (1, 17)), 0), (((2, 17), (2, 16), (2, 1)), -1),
                     (((2, 3, 4), (2, 5, 4)), 1), (((0, 5), (2, 5)), 0), (((33,), (32,)), 0),
                     (((65,),), 0))
)  # fmt: skip


def _split_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": axis_of(len(shapes_[0]))})


def _split_sizes(ctx: Ctx) -> list[int]:
    found, value = _given(ctx, "_split")
    if found:
        return value
    n = ctx.shapes[0][ctx.attrs["axis"]]
    first = ctx.draw(st.integers(0, n))
    return [first, n - first]


def _split_attr(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Split-2: sizes as the `split` attribute."""
    return _split_attrs(shapes_).flatmap(lambda d: st.integers(0, shapes_[0][d["axis"]]).map(
        lambda first: {**d, "split": [first, shapes_[0][d["axis"]] - first]}))  # fmt: skip


_SPLIT_TABLE = (((5, 17), 0, [2, 3]), ((3, 17), 1, [8, 9]), ((3, 17), -1, [0, 17]),
                ((65,), 0, [32, 33]), ((2, 33), -2, [1, 1]))  # fmt: skip
_SPLIT_EDGES = tuple(((x,), {"axis": a, "_split": s}) for x, a, s in _SPLIT_TABLE)
_SPLIT2_EDGES = tuple(((x,), {"axis": a, "split": s}) for x, a, s in _SPLIT_TABLE)


def _split_cases() -> list[Case]:
    even = grid([((9, 4),), ((3, 6, 2),)], axis=[0, 1, -1]) + grid([((2, 33),)], axis=[-1])
    even = tuple((s, a) for s, a in even if s[0][a["axis"]] % 3 == 0)
    uneven = grid([((3, 17),), ((65,),)], axis=[-1])  # 17 and 65 in 3 parts: the last smaller
    out = [
        Case("Split", (Arg("any"), const_int64(_split_sizes)), ALL, shapes=_RANKED,
             attrs=_split_attrs, outputs=2, tol="exact", edges=_SPLIT_EDGES),
        Case("Split", (Arg("any"), const_int64(_split_sizes)), OLD, shapes=_RANKED,
             attrs=_split_attrs, outputs=2, tol="exact", edges=_SPLIT_EDGES, opset=13,
             variant="opset13"),
        Case("Split", (Arg("any"),), OLD, shapes=_RANKED, attrs=_split_attr, outputs=2,
             tol="exact", edges=_SPLIT2_EDGES, opset=11, variant="opset11"),
    ]  # fmt: skip
    for opset, edges in ((None, even + uneven), (13, even)):
        out.append(Case(
            "Split", (Arg("any"),), F3 + INTS, outputs=3, tol="exact", opset=opset,
            shapes=shapes(1, 3, min_side=3).map(lambda s: (s,)).filter(
                lambda t, o=opset: o is None or any(d % 3 == 0 for d in t[0])),
            variant="num_outputs" + ("" if opset is None else f"_opset{opset}"),
            attrs=lambda s, o=opset: _split_attrs(s).filter(
                lambda d: o is None or s[0][d["axis"]] % 3 == 0).map(
                lambda d: dict(d, num_outputs=3) if o is None else d),
            edges=tuple((s, {**a, "num_outputs": 3} if opset is None else a)
                        for s, a in edges)))  # fmt: skip
    return out


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
def _slice_params(draw: Any, shape: tuple[int, ...], steps: bool = True) -> tuple[Any, ...]:
    axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    bound = st.integers(-8, 8) | st.sampled_from([2**62, -(2**62)])
    starts = [draw(bound) for _ in axes]
    ends = [draw(bound) for _ in axes]
    step = [draw(st.sampled_from([1, 1, 2, -1, -2])) if steps else 1 for _ in axes]
    neg_axes = [a - len(shape) if draw(st.booleans()) else a for a in axes]
    return (starts, ends, neg_axes, step)


_SLICES = (((3, 17), [1], [-1], [1], [2]), ((3, 17), [-1], [-100], [-1], [-1]),
           ((3, 17), [0, 2**62], [2, -(2**62)], [0, -1], [1, -3]),
           ((65,), [3], [64], [0], [8]), ((2, 33), [1, 33], [2, 0], [-2, 1], [1, -2]),
           ((2, 3, 17), [5], [-5], [2], [1]))  # fmt: skip
_SLICE_EDGES = tuple(((x,), {"_slice": (s, e, a, st_)}) for x, s, e, a, st_ in _SLICES)
_SLICE1_EDGES = tuple(
    ((x,), {"starts": s, "ends": e, "axes": a}) for x, s, e, a, st_ in _SLICES if set(st_) == {1}
)


def _slice1_attrs(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return _slice_params(shapes_[0], steps=False).map(
        lambda p: {"starts": p[0], "ends": p[1], "axes": p[2]}
    )


def _squeezable(ctx: Ctx) -> list[int] | None:
    found, value = _given(ctx, "_axes")
    if found:
        return value
    ones = [i for i, d in enumerate(ctx.shapes[0]) if d == 1]
    if not ones or not ctx.draw(st.booleans()):
        return None if not ones or ctx.draw(st.booleans()) else ones
    return ctx.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))


def _unsqueeze_axes(ctx: Ctx) -> list[int]:
    found, value = _given(ctx, "_axes")
    if found:
        return value
    rank = _rank(ctx) + ctx.draw(st.integers(1, 2))
    axes = ctx.draw(st.lists(st.integers(0, rank - 1), min_size=rank - _rank(ctx),
                             max_size=rank - _rank(ctx), unique=True))  # fmt: skip
    return [a - rank if ctx.draw(st.booleans()) else a for a in axes]


_SQUEEZE = (((1, 17, 1), None), ((1, 17, 1), [0]), ((1, 17, 1), [-1]), ((1, 17, 1), [0, 2]),
            ((65,), None), ((1,), [0]))  # fmt: skip
_UNSQUEEZE = (((3, 17), [0]), ((3, 17), [-1]), ((3, 17), [1, 3]), ((), [0]), ((65,), [-2, 0]))


def _squeeze_attr(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Squeeze-1: the axes an attribute."""
    ones = [i for i, d in enumerate(shapes_[0]) if d == 1]
    if not ones:
        return st.just({})
    axes = st.lists(st.sampled_from(ones), min_size=1, unique=True).map(lambda a: {"axes": a})
    return st.one_of(st.just({}), axes)


def _unsqueeze_attr(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Unsqueeze-1: the axes an attribute (positions in the output, non-negative)."""
    rank = len(shapes_[0])
    return st.integers(1, 2).flatmap(lambda k: st.lists(
        st.integers(0, rank + k - 1), min_size=k, max_size=k, unique=True)).map(
        lambda a: {"axes": a})  # fmt: skip


def _expand_to(ctx: Ctx) -> list[int]:
    found, value = _given(ctx, "_to")
    if found:
        return value
    shape = list(ctx.shapes[0])
    target = [d if d != 1 else ctx.draw(st.sampled_from([1, 2, 3])) for d in shape]
    target = [1] * ctx.draw(st.integers(0, 1)) + target
    while int(np.prod(target)) > MAX_ELEMENTS:
        target = shape
    return [1 if d != 1 and ctx.draw(st.integers(0, 3)) == 0 else d for d in target]


def _repeats(ctx: Ctx) -> list[int]:
    found, value = _given(ctx, "_reps")
    if found:
        return value
    reps = [ctx.draw(st.integers(0, 2)) for _ in ctx.shapes[0]]
    return reps if int(np.prod(ctx.shapes[0])) * int(np.prod(reps)) <= 4 * MAX_ELEMENTS else [
        1 for _ in reps]  # fmt: skip


CASES: list[Case] = [
    Case("Reshape", (Arg("any"), const_int64(_reshape_target)), ALL, shapes=_ANY, tol="exact",
         edges=_RESHAPE_EDGES[:-1] + ((((0, 3),), {"_shape": [3, 0], "allowzero": 1}),)),
    Case("Reshape", (Arg("any"), const_int64(_reshape_target)), OLD, shapes=_ANY, tol="exact",
         opset=13, variant="opset13", edges=_RESHAPE_EDGES),
    Case("Transpose", (Arg("any"),), ALL, shapes=_ANY, attrs=_perm, tol="exact",
         edges=grid([(_R3,)], perm=[None, [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
         + grid([((65,),), ((33, 2),)], perm=[None])),
    Case("Concat", (Arg("any"),) * 3, ALL, shapes=_concat_shapes(),
         attrs=lambda s: st.just(dict(s[-1])), tol="exact", edges=_CONCAT_EDGES),
    *_split_cases(),
    Case("Slice", (Arg("any"), _slice_arg(0), _slice_arg(1), _slice_arg(2), _slice_arg(3)), ALL,
         shapes=_RANKED, tol="exact", edges=_SLICE_EDGES),
    Case("Slice", (Arg("any"),), OLD, shapes=_RANKED, tol="exact", attrs=_slice1_attrs, opset=9,
         variant="opset9", edges=_SLICE1_EDGES),
    Case("Squeeze", (Arg("any"), const_int64(_squeezable)), ALL,
         shapes=shapes(max_side=2).map(lambda s: (s,)), tol="exact",
         edges=tuple(((x,), {"_axes": a}) for x, a in _SQUEEZE)),
    Case("Squeeze", (Arg("any"),), OLD, shapes=shapes(max_side=2).map(lambda s: (s,)),
         attrs=_squeeze_attr, tol="exact", opset=11, variant="opset11",
         edges=tuple(((x,), {} if a is None else {"axes": a}) for x, a in _SQUEEZE)),
    Case("Unsqueeze", (Arg("any"), const_int64(_unsqueeze_axes)), ALL, shapes=_ANY, tol="exact",
         edges=tuple(((x,), {"_axes": a}) for x, a in _UNSQUEEZE)),
    Case("Unsqueeze", (Arg("any"),), OLD, shapes=_ANY, attrs=_unsqueeze_attr,
         tol="exact", opset=11, variant="opset11",
         edges=tuple(((x,), {"axes": [v % (len(x) + len(a)) for v in a]}) for x, a in _UNSQUEEZE)),
    Case("Flatten", (Arg("any"),), ALL, shapes=_ANY, tol="exact",
         attrs=lambda s: st.fixed_dictionaries({"axis": st.integers(-len(s[0]), len(s[0]))}),
         edges=grid([(_R3,)], axis=[0, 1, 2, 3, -1, -3]) + grid([((65,),)], axis=[1])),
    Case("Expand", (Arg("any"), const_int64(_expand_to)), ALL,
         shapes=shapes(max_side=3).map(lambda s: (s,)), tol="exact",
         edges=tuple(((x,), {"_to": t}) for x, t in (((3, 1), [2, 3, 17]), ((1, 17), [3, 1]),
                     ((), [65]), ((2, 1, 1), [1, 33]), ((3, 17), [17])))),
    Case("Tile", (Arg("any"), const_int64(_repeats)), ALL, shapes=_ANY, tol="exact",
         edges=tuple(((x,), {"_reps": r}) for x, r in (((3, 17), [2, 1]), ((3, 17), [1, 2]),
                     ((3, 17), [0, 1]), ((65,), [3]), ((2, 1, 9), [1, 17, 1])))),
]  # fmt: skip
_ = UNARY_EDGES
