"""Fixed examples ("edges") shared by the case families: shapes that cross SIMD block widths
(odd remainders after 4/8/16-lane loops, 0-d, empty) and broadcasting patterns. Each edge is
(shapes, attributes); None attributes are drawn from the case's own attribute strategy.

Family modules add the attribute edges of their ops (ceil_mode, auto_pad, axes, modes, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product
from typing import Any

from ..case import Edge

Shape = tuple[int, ...]

# one input: a long vector, remainders after 8 and 16 lanes, a 33-wide row, 0-d and empty
UNARY_SHAPES: tuple[Shape, ...] = ((65,), (3, 17), (2, 2, 33), (9, 7), (), (2, 0, 3))
# two inputs broadcasting together (multidirectional), including 0-d against a block row
BINARY_SHAPES: tuple[tuple[Shape, Shape], ...] = (
    ((65,), (65,)),
    ((3, 17), (17,)),
    ((3, 17), (3, 1)),
    ((3, 1), (1, 17)),
    ((2, 1, 33), (4, 1)),
    ((), (33,)),
    ((31,), ()),
    ((2, 3, 16), (2, 3, 16)),
    ((0, 3), (3,)),
)
VARIADIC_SHAPES: tuple[tuple[Shape, ...], ...] = (
    ((65,),),
    ((3, 17), (17,), (3, 1)),
    ((2, 1, 33), (33,)),
    ((9,), (9,), (9,)),
)


def plain(shapes: Iterable[tuple[Any, ...]], attrs: dict[str, Any] | None = None) -> tuple:
    """Edges with the given input shapes (each a tuple of per-input shapes) and attributes."""
    return tuple((tuple(s), None if attrs is None else dict(attrs)) for s in shapes)


def single(*shapes: Shape, attrs: dict[str, Any] | None = None) -> tuple[Edge, ...]:
    """Edges of one-input cases: one per shape."""
    return plain(((s,) for s in shapes), attrs)


def grid(shape_sets: Iterable[tuple[Any, ...]], **choices: Iterable[Any]) -> tuple[Edge, ...]:
    """Every combination of the attribute choices (None = leave the attribute out) for every
    shape set: the deterministic attribute tables."""
    keys = list(choices)
    out = []
    for shapes in shape_sets:
        for combo in product(*(list(choices[k]) for k in keys)):
            attrs = {k: v for k, v in zip(keys, combo) if v is not None}
            out.append((tuple(shapes), attrs))
    return tuple(out)


def with_attrs(edges: Iterable[Edge], **attrs: Any) -> tuple[Edge, ...]:
    """The same edges with attributes added to (or set in) each."""
    return tuple((s, {**(a or {}), **attrs}) for s, a in edges)


UNARY_EDGES = single(*UNARY_SHAPES)
BINARY_EDGES = plain(BINARY_SHAPES)
VARIADIC_EDGES = plain(VARIADIC_SHAPES)
