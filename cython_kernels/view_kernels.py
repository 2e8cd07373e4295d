"""Reshape, Flatten, Squeeze and Unsqueeze as views (what the reference returns too), their
target shape worked out once per input shape; a target the kernel cannot work out exactly
raises RuntimeDecline so the reference runs it and raises its own error. One table per op,
built on first access (lazy_tables.tables_on_access); the shared helpers in layout_common.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline
from ..plugins.backend import Kernel
from ..refimpl import op_geometry  # its names import their op module on first use
from ..refimpl.ir import Node
from .layout_common import (
    Array,
    _as_prepared,
    _constant_inputs,
    _declare,
    _int_tuple,
    _norm_axis,
    _remember,
)
from .lazy_tables import tables_on_access


def _reshape_target(shape: tuple[int, ...], target: tuple[int, ...], allowzero: int) -> tuple:
    try:
        return tuple(op_geometry.reshape_target_shape(shape, list(target), allowzero))
    except ValueError as err:
        raise RuntimeDecline(str(err)) from err


def _prepare_reshape(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        allowzero = int(node.attrs.get("allowzero", 0))
        fixed = _int_tuple(constants[1]) if 1 in constants else None
        targets: dict[Any, tuple[int, ...]] = {}

        def run(data: Array, shape: Array, **_: Any) -> Array:
            key = data.shape if fixed is not None else (data.shape, _int_tuple(shape))
            out = targets.get(key)
            if out is None:
                want = fixed if fixed is not None else _int_tuple(shape)
                out = _remember(targets, key, _reshape_target(data.shape, want, allowzero))  # type: ignore[arg-type]
            return data.reshape(out)

        return _as_prepared(reference, run)

    return prepare


def _prepare_flatten(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_flatten import flatten_1  # imported by its table

    axis = int(node.attrs.get("axis", 1))
    targets: dict[tuple[int, ...], tuple[int, int]] = {}

    def run(input: Array, **_: Any) -> Array:
        out = targets.get(input.shape)
        if out is None:
            if not -input.ndim <= axis <= input.ndim:
                raise RuntimeDecline(f"axis {axis} out of range")
            a = axis + input.ndim if axis < 0 else axis
            out = (int(np.prod(input.shape[:a])), int(np.prod(input.shape[a:])))
            out = _remember(targets, input.shape, out)
        return input.reshape(out)

    return _as_prepared(flatten_1, run)


def _squeezed(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return tuple(d for d in shape if d != 1)
    norm = {_norm_axis(a, len(shape)) for a in axes}
    if len(norm) != len(axes) or any(shape[a] != 1 for a in norm):
        raise RuntimeDecline(f"cannot squeeze axes {list(axes)} of {list(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in norm)


def _unsqueezed(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        raise RuntimeDecline("axes missing")
    rank = len(shape) + len(axes)
    new = {_norm_axis(a, rank) for a in axes}
    if len(new) != len(axes):
        raise RuntimeDecline(f"axes {list(axes)} repeat")
    dims = iter(shape)
    return tuple(1 if i in new else next(dims) for i in range(rank))


def _prepare_resqueeze(
    reference: Callable[..., Any], target: Callable[..., Any], *, from_attr: bool
) -> Any:
    """from_attr: the axes are an attribute (version 1), not input 1."""

    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        fixed = _int_tuple(node.attrs.get("axes")) if from_attr else _int_tuple(constants.get(1))
        known = from_attr or _constant_inputs(node, constants, 1)
        shapes: dict[Any, tuple[int, ...]] = {}

        def run(data: Array, axes: Array | None = None, **_: Any) -> Array:
            key = data.shape if known else (data.shape, _int_tuple(axes))
            out = shapes.get(key)
            if out is None:
                out = _remember(shapes, key, target(data.shape, fixed if known else key[1]))
            return data.reshape(out)

        if from_attr:
            return _as_prepared(reference, lambda data, **_: run(data))
        return _as_prepared(reference, run)

    return prepare



# ---- the tables: one per op, built on first access -------------------------------------------


def _reshape() -> dict[str, Kernel]:
    from ..refimpl.ops.op_reshape import reshape_5, reshape_14

    return {
        "reshape_5": _declare(reshape_5, _prepare_reshape(reshape_5)),
        "reshape_14": _declare(reshape_14, _prepare_reshape(reshape_14)),
    }


def _flatten() -> dict[str, Kernel]:
    from ..refimpl.ops.op_flatten import flatten_1

    return {"flatten": _declare(flatten_1, _prepare_flatten)}


def _squeeze() -> dict[str, Kernel]:
    from ..refimpl.ops.op_squeeze import squeeze_1, squeeze_13

    return {
        "squeeze_1": _declare(squeeze_1, _prepare_resqueeze(squeeze_1, _squeezed, from_attr=True)),
        "squeeze_13": _declare(
            squeeze_13, _prepare_resqueeze(squeeze_13, _squeezed, from_attr=False)
        ),
    }


def _unsqueeze() -> dict[str, Kernel]:
    from ..refimpl.ops.op_unsqueeze import unsqueeze_1, unsqueeze_13

    return {
        "unsqueeze_1": _declare(
            unsqueeze_1, _prepare_resqueeze(unsqueeze_1, _unsqueezed, from_attr=True)
        ),
        "unsqueeze_13": _declare(
            unsqueeze_13, _prepare_resqueeze(unsqueeze_13, _unsqueezed, from_attr=False)
        ),
    }



__getattr__ = tables_on_access(
    __name__,
    {
        "ReshapeKernels": _reshape,
        "FlattenKernels": _flatten,
        "SqueezeKernels": _squeeze,
        "UnsqueezeKernels": _unsqueeze,
    },
)
