"""Layout kernels for every fixed-size dtype that most models have: Transpose as a strided copy
in C (src/layout.c); Reshape, Flatten, Squeeze and Unsqueeze as views (what the reference
returns too); and the helpers the other data-movement tables share (copy_kernels: Concat,
Split, Slice, Gather, Pad; broadcast_kernels, where_kernels). Cast is in cast_kernels.py.

The Python side of each call is kept small: what depends only on the input shape (output shape,
permutation, target) is cached per shape on first use. A call the kernel cannot run exactly
(bad axes, a shape that does not fit) raises RuntimeDecline, so the reference runs it and
raises its own error.

One table per op (TransposeKernels, ReshapeKernels, ...: backend.TABLES), each built on first
access with its reference-op module imported then (lazy_tables.tables_on_access). The copies
live in a module of their own so that a model with a Transpose or a Flatten and no other layout
op (most vision models) does not unmarshal their prepare code at its first load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, kernel, output_array
from ..plugins.backend import Kernel
from ..refimpl import op_geometry  # its names import their op module on first use
from ..refimpl.dtypes import DTYPE_NAMES
from ..refimpl.ir import Node
from ._common import threads
from ._native import ext
from .lazy_tables import tables_on_access
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



# ---- Transpose ----------------------------------------------------------------------------------


def _prepare_transpose(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_transpose import transpose_1  # imported by its table

    given = node.attrs.get("perm")
    plans: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def run(data: Array, **_: Any) -> Array:
        plan = plans.get(data.shape)
        if plan is None:
            perm = (
                tuple(int(p) for p in given)
                if given is not None
                else tuple(range(data.ndim - 1, -1, -1))
            )
            if sorted(perm) != list(range(data.ndim)):
                raise RuntimeDecline(f"perm {list(perm)} is not a permutation")
            shape = tuple(data.shape[p] for p in perm) if data.ndim else (1,)
            plan = _remember(plans, data.shape, (perm, shape))
        y = output_array(plan[1], data.dtype)
        if not data.ndim:  # the reference's ascontiguousarray makes a 0-d result 1-d
            np.copyto(y, data.reshape(1))
        elif ext().transpose_into(_raw(data), plan[0], _raw(y), threads()):
            raise RuntimeDecline(f"rank {data.ndim} is beyond the copy kernel")
        return y

    return _as_prepared(transpose_1, run)


# ---- views --------------------------------------------------------------------------------------


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


def _transpose() -> dict[str, Kernel]:
    from ..refimpl.ops.op_transpose import transpose_1

    return {"transpose": _declare(transpose_1, _prepare_transpose)}



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
        "TransposeKernels": _transpose,
        "ReshapeKernels": _reshape,
        "FlattenKernels": _flatten,
        "SqueezeKernels": _squeeze,
        "UnsqueezeKernels": _unsqueeze,
    },
)
