"""Expand and Tile for every fixed-size dtype: one strided n-d copy in C (src/layout.c) from a
view of the input whose repeated axes have stride 0, recorded for segments.

Tile views the output as [r0, d0, r1, d1, ...] (size-1 entries left out, so a rank-4 input is a
copy of at most 8 dims, which a segment can record) and the input as the same with the r axes
broadcast.

Two tables (ExpandKernels, TileKernels), each importing its reference op when first accessed
(lazy_tables.tables_on_access).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..plugins.backend import Kernel
from ..refimpl.ir import Node
from ._common import threads
from ._native import ext
from .layout_kernels import _as_prepared, _declare, _int_tuple, _raw, _remember
from .lazy_tables import tables_on_access

Array = np.ndarray


def expand_shape(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(shape, target))
    except ValueError:
        raise RuntimeDecline(f"cannot broadcast {shape} with {target}") from None


def tile_views(shape: tuple[int, ...], reps: tuple[int, ...]) -> tuple[tuple, tuple, tuple]:
    """(output shape, interleaved output shape, interleaved input shape with 1 where broadcast)."""
    if len(reps) != len(shape) or any(r < 0 for r in reps):
        raise RuntimeDecline(f"repeats {list(reps)} for rank {len(shape)}")
    out = tuple(d * r for d, r in zip(shape, reps))
    big: list[int] = []
    small: list[int] = []
    for d, r in zip(shape, reps):
        if r != 1:
            big.append(r)
            small.append(1)
        if d != 1:
            big.append(d)
            small.append(d)
    return out, tuple(big), tuple(small)


def _copy(src: Array, dst: Array) -> None:
    if dst.size and ext().copy_into(src, dst, threads()):
        raise RuntimeDecline(f"rank {dst.ndim} is beyond the copy kernel")


def _prepare_expand(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_expand import expand_8  # imported by its table

    fixed = _int_tuple(constants.get(1))
    shapes: dict[Any, tuple[int, ...]] = {}

    def run(input: Array, shape: Array) -> Array:
        target = fixed if fixed is not None else _int_tuple(shape)
        key = (input.shape, target)
        out = shapes.get(key)
        if out is None:
            out = _remember(shapes, key, expand_shape(input.shape, target))
        y = output_array(out, input.dtype)
        _copy(np.broadcast_to(_raw(input), out), _raw(y))
        return y

    return _as_prepared(expand_8, run)


def _prepare_tile(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_tile import tile_6  # imported by its table

    fixed = _int_tuple(constants.get(1))
    plans: dict[Any, tuple] = {}

    def run(input: Array, repeats: Array) -> Array:
        reps = fixed if fixed is not None else _int_tuple(repeats)
        key = (input.shape, reps)
        plan = plans.get(key)
        if plan is None:
            plan = _remember(plans, key, tile_views(input.shape, reps))
        out, big, small = plan
        y = output_array(out, input.dtype)
        if input.ndim == 0:
            _copy(_raw(input), _raw(y))
            return y
        src = np.broadcast_to(_raw(np.ascontiguousarray(input)).reshape(small), big)
        _copy(src, _raw(y).reshape(big))
        return y

    return _as_prepared(tile_6, run)


def _expand() -> dict[str, Kernel]:
    from ..refimpl.ops.op_expand import expand_8

    return {"expand": _declare(expand_8, _prepare_expand)}


def _tile() -> dict[str, Kernel]:
    from ..refimpl.ops.op_tile import tile_6

    return {"tile": _declare(tile_6, _prepare_tile)}


__getattr__ = tables_on_access(__name__, {"ExpandKernels": _expand, "TileKernels": _tile})
