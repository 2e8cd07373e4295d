"""What the data-movement kernel tables (transpose_kernels, layout_kernels, view_kernels,
broadcast_kernels, where_kernels) share: dtypes copied as raw bytes, per-shape plan caches, and
how a prepare-only kernel is declared. Kept apart from the tables so a model with one Transpose
imports this and transpose_kernels only, not every layout op's prepare code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, kernel
from ..refimpl.dtypes import DTYPE_NAMES
from ..refimpl.ir import Node
from .segments import traceable

Array = np.ndarray
Array = np.ndarray
FIXED_SIZE = frozenset(DTYPE_NAMES - {"string"})
# dtypes numpy exports through the buffer protocol; the others (ml_dtypes) travel as uints
_EXPORTED = {
    np.dtype(n)
    for n in (
        "float16 float32 float64 int8 int16 int32 int64 uint8 "
        "uint16 uint32 uint64 bool complex64 complex128"
    ).split()
}
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_CACHE_LIMIT = 64  # shapes remembered per node (dynamic shapes must not grow it without end)
_INDEX = (np.dtype(np.int64), np.dtype(np.int32))


def _raw(x: Array) -> Array:
    """x, or a view of its bytes as unsigned ints of the same size where numpy cannot export it."""
    if x.dtype in _EXPORTED:
        return x
    if x.dtype.itemsize not in _UINT or x.dtype.hasobject:
        raise RuntimeDecline(f"dtype {x.dtype} has no fixed-size copy")
    return x.view(_UINT[x.dtype.itemsize])


def _remember(cache: dict, key: Any, value: Any) -> Any:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _declare(
    reference: Callable[..., Any],
    prepare: Any,
    supports: Any = None,
    dtypes: frozenset[str] = FIXED_SIZE,
) -> Any:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this kernel runs only through its prepare() hook")

    stub.__wrapped__ = reference  # type: ignore[attr-defined]
    return kernel(reference, dtypes=dtypes, supports=supports, prepare=prepare)(stub)


def _as_prepared(reference: Callable[..., Any], run: Callable[..., Any]) -> Callable[..., Any]:
    """run, presented as reference's kernel and marked traceable (segments.py): its calls are
    n-d copies (or none: a view); a call that does numpy work instead writes no output through
    a recorded call, which segments.py refuses."""
    run.__wrapped__ = reference  # type: ignore[attr-defined]
    return traceable(run)


def _norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise RuntimeDecline(f"axis {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def _constant_inputs(node: Node, constants: dict[int, Array], first: int) -> bool:
    """True if every present input from `first` on is an initializer (known at prepare)."""
    return all(not name or i in constants for i, name in enumerate(node.inputs) if i >= first)


def _int_tuple(v: Array | None) -> tuple[int, ...] | None:
    return None if v is None else tuple(int(i) for i in np.asarray(v).reshape(-1))

