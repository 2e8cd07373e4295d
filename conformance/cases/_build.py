"""Shorthands for building case records (unary, binary, variadic, attribute strategies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import broadcast
from ..values import unary as unary_shapes
from ._edges import BINARY_EDGES, UNARY_EDGES, VARIADIC_EDGES

F32 = ("float32",)
FLOATS = ("float32", "float16", "float64", "bfloat16")
F3 = ("float32", "float16", "float64")
SINTS = ("int8", "int16", "int32", "int64")
UINTS = ("uint8", "uint16", "uint32", "uint64")
INTS = ("int32", "int64", "int8", "uint8")
NUMERIC = FLOATS + INTS
BOOL = ("bool",)

AttrFn = Callable[[tuple[Any, ...]], st.SearchStrategy[dict[str, Any]]]


def fixed(**strategies: st.SearchStrategy[Any]) -> AttrFn:
    """Attributes independent of the shapes."""
    return lambda shapes: st.fixed_dictionaries(strategies)


def unary(op: str, dtypes: tuple[str, ...], domain: str = "any", **kw: Any) -> Case:
    """A one-input case; default shapes: any (block sides, 0-d, empty), with UNARY_EDGES."""
    if "shapes" not in kw:
        kw["shapes"] = unary_shapes()
        kw.setdefault("edges", UNARY_EDGES)
    return Case(op, (Arg(domain),), dtypes, **kw)


def binary(op: str, dtypes: tuple[str, ...], domains: tuple[str, str] = ("any", "any"), **kw: Any):
    """A two-input broadcasting case, with BINARY_EDGES."""
    if "shapes" not in kw:
        kw["shapes"] = broadcast(2)
        kw.setdefault("edges", BINARY_EDGES)
    return Case(op, (Arg(domains[0]), Arg(domains[1])), dtypes, **kw)


def variadic(op: str, dtypes: tuple[str, ...], n: int = 3, domain: str = "any", **kw: Any) -> Case:
    """One to n broadcasting inputs, with VARIADIC_EDGES."""
    kw.setdefault("shapes", st.integers(1, n).flatmap(lambda k: broadcast(k)))
    kw.setdefault("edges", VARIADIC_EDGES)
    return Case(op, tuple(Arg(domain) for _ in range(n)), dtypes, **kw)


def const_int64(fn: Callable[[Ctx], Any]) -> Arg:
    """An int64 initializer computed from the drawn shapes/attributes (shape, axes, indices...)."""

    def make(ctx: Ctx) -> np.ndarray | None:
        value = fn(ctx)
        return None if value is None else np.asarray(value, dtype=np.int64)

    return Arg(make, dtype="int64", const=True)


def scalar(value: Any, dtype: str | None = None, const: bool = True) -> Arg:
    """A 0-d input with a fixed value (dtype None: the case's dtype)."""

    def make(ctx: Ctx) -> np.ndarray:
        from ...refimpl.dtypes import to_numpy

        return np.asarray(value).astype(to_numpy(dtype or ctx.dtype))

    return Arg(make, dtype=dtype, const=const)


def reduced_axis(index: int = 0, axis_attr: str = "axis") -> Callable[[Any], int]:
    """`reduced` for cases that reduce over one axis given by an attribute."""

    def length(ex: Any) -> int:
        x = ex.inputs[index]
        if x is None or x.ndim == 0:
            return 1
        return int(x.shape[ex.attrs.get(axis_attr, -1) % x.ndim])

    return length


def whole(index: int = 0) -> Callable[[Any], int]:
    return lambda ex: max(1, int(ex.inputs[index].size)) if ex.inputs[index] is not None else 1
