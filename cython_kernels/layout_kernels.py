"""Data-movement kernels for every fixed-size dtype: Transpose, Concat, Split, Slice, Gather and
Pad (constant; reflect, edge and wrap in pad_modes.py) as strided copies in C (src/layout.c);
Reshape, Flatten, Squeeze and Unsqueeze as views (what the reference returns too) with their
target shape worked out once per input shape (Cast is in cast_kernels.py).

The Python side of each call is kept small: what depends only on the input shape (output shape,
permutation, window) is cached per shape on first use. A call the kernel cannot run exactly (bad
axes, out-of-range indices, a shape that does not fit) raises RuntimeDecline, so the reference
runs it and raises its own error.

One table per op (TransposeKernels, ConcatKernels, ...: backend.TABLES), each built on first
access with its reference-op module imported then (lazy_tables.tables_on_access): a model's
first load imports the reference modules of the layout ops it has, not all ten. The prepare
hooks import their reference when they run (their table has imported it by then) or take it,
with what differs between its versions, as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, kernel, output_array, output_is_view
from ..plugins.backend import Kernel
from ..refimpl import op_geometry  # its names import their op module on first use
from ..refimpl.dtypes import DTYPE_NAMES
from ..refimpl.ir import Node, Value
from ._common import threads
from ._native import ext
from .lazy_tables import tables_on_access
from .segments import traceable

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


# ---- copies -------------------------------------------------------------------------------------


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


def _prepare_concat(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_concat import concat_4  # imported by its table

    given = int(node.attrs["axis"])
    plans: dict[tuple, tuple[int, tuple[int, ...]]] = {}

    def run(*inputs: Array, axis: int) -> Array:
        key = tuple(x.shape for x in inputs)
        plan = plans.get(key)
        if plan is None:
            plan = _remember(plans, key, _concat_plan(key, given))
        dtype = inputs[0].dtype
        for x in inputs:
            if x.dtype != dtype:
                raise RuntimeDecline("inputs of different dtypes")
        y = output_array(plan[1], dtype)
        if _assembled(inputs, plan[0], y):
            return y  # the memory plan put every input in its place in y already
        if ext().concat_into([_raw(x) for x in inputs], plan[0], _raw(y), threads()):
            raise RuntimeDecline(f"rank {y.ndim} is beyond the copy kernel")
        return y

    return _as_prepared(concat_4, run)


def _assembled(inputs: tuple[Array, ...], axis: int, y: Array) -> bool:
    """Whether every input already lies at its place in y (the memory plan's Concat parts,
    refimpl/memory_plan.py): the blocks are contiguous and follow one another."""
    if math.prod(y.shape[:axis]) != 1 or not y.flags.c_contiguous or not y.nbytes:
        return False
    at = y.ctypes.data
    for x in inputs:
        if x.size and (x.ctypes.data != at or not x.flags.c_contiguous):
            return False
        at += x.nbytes
    return True


def _concat_plan(shapes: tuple[tuple[int, ...], ...], axis: int) -> tuple[int, tuple[int, ...]]:
    if not shapes:
        raise RuntimeDecline("no inputs")
    rank = len(shapes[0])
    a = _norm_axis(axis, rank)
    rest = shapes[0][:a] + shapes[0][a + 1 :]
    if any(len(s) != rank or s[:a] + s[a + 1 :] != rest for s in shapes):
        raise RuntimeDecline(f"shapes {list(shapes)} do not concatenate on axis {axis}")
    out = shapes[0][:a] + (sum(s[a] for s in shapes),) + shapes[0][a + 1 :]
    return a, out


def _prepare_split(
    reference: Callable[..., Any], *, split_input: bool = True, uneven: bool = False
) -> Callable[..., Any]:
    """split_input: the sizes may come as input 1 (not Split-2's); uneven: Split-18's last part
    may be smaller."""

    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        axis = int(node.attrs.get("axis", 0))
        attr_split = tuple(int(s) for s in node.attrs.get("split") or ())
        parts = int(node.attrs.get("num_outputs", len(node.outputs)))
        fixed = _constant_inputs(node, constants, 1)
        const_split = _int_tuple(constants.get(1)) if len(node.inputs) > 1 else None
        plans: dict[Any, tuple] = {}

        def run(input: Array, split: Array | None = None, **_: Any) -> tuple[Array, ...]:
            sizes = attr_split if attr_split else (const_split if fixed else _int_tuple(split))
            key = (input.shape, sizes)
            plan = plans.get(key)
            if plan is None:
                plan = _remember(plans, key, _split_plan(input.shape, sizes, axis, parts, uneven))
            if (
                plan[0]
                and input.flags.c_contiguous
                and all(map(output_is_view, range(len(plan[1]))))
            ):
                # the memory plan made the outputs views of the input's blocks: copy nothing
                return tuple(input[window] for window, _ in plan[1])
            raw, th, outs = _raw(input), threads(), []
            for i, (window, shape) in enumerate(plan[1]):
                y = output_array(shape, input.dtype, i)
                if ext().copy_into(raw[window], _raw(y), th):
                    raise RuntimeDecline(f"rank {input.ndim} is beyond the copy kernel")
                outs.append(y)
            return tuple(outs)

        if not split_input:
            return _as_prepared(reference, lambda input, **_: run(input))
        return _as_prepared(reference, run)

    return prepare


def _split_plan(
    shape: tuple[int, ...], sizes: tuple[int, ...] | None, axis: int, parts: int, uneven: bool
) -> tuple:
    a = _norm_axis(axis, len(shape))
    try:
        sizes = sizes or tuple(op_geometry.split_equal_sizes(shape[a], parts, uneven))
    except ValueError as err:
        raise RuntimeDecline(str(err)) from err
    if any(s < 0 for s in sizes) or sum(sizes) != shape[a]:
        raise RuntimeDecline(f"split {list(sizes)} does not add up to {shape[a]}")
    plan, start = [], 0
    for s in sizes:
        window = (slice(None),) * a + (slice(start, start + s),)
        plan.append((window, shape[:a] + (s,) + shape[a + 1 :]))
        start += s
    blocks = math.prod(shape[:a]) == 1  # each output one block of the input, in order
    return blocks, tuple(plan)


def _slice_window(
    shape: tuple[int, ...],
    starts: tuple[int, ...],
    ends: tuple[int, ...],
    axes: tuple[int, ...] | None,
    steps: tuple[int, ...] | None,
) -> tuple:
    """The index tuple the reference slices with (Python slices clamp as ONNX specifies)."""
    axes = tuple(range(len(starts))) if axes is None else axes
    steps = (1,) * len(starts) if steps is None else steps
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise RuntimeDecline("Slice starts/ends/axes/steps differ in length or a step is 0")
    norm = [_norm_axis(a, len(shape)) for a in axes]
    if len(set(norm)) != len(norm):
        raise RuntimeDecline("Slice axes repeat")
    index = [slice(None)] * len(shape)
    for a, start, end, step in zip(norm, starts, ends, steps):
        index[a] = slice(start, end, step)
    return tuple(index)


def _prepare_slice(reference: Callable[..., Any], *, from_attrs: bool) -> Callable[..., Any]:
    """from_attrs: starts/ends/axes are attributes (Slice-1), not inputs."""

    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        if from_attrs:
            attrs = node.attrs
            params = tuple(_int_tuple(attrs.get(k)) for k in ("starts", "ends", "axes")) + (None,)
        elif _constant_inputs(node, constants, 1):
            params = tuple(_int_tuple(constants.get(i)) for i in range(1, 5))
        else:
            params = None
        windows: dict[Any, tuple] = {}

        def run(data: Array, *args: Any, **_: Any) -> Array:
            p = (
                params
                if params is not None
                else tuple(_int_tuple(a) for a in args) + (None,) * (4 - len(args))
            )
            key = (data.shape, p)
            window = windows.get(key)
            if window is None:
                if p[0] is None or p[1] is None:
                    raise RuntimeDecline("starts/ends missing")
                window = _remember(windows, key, _slice_window(data.shape, *p))  # type: ignore[arg-type]
            if output_is_view(0) and data.flags.c_contiguous:
                block = data[window]  # the memory plan made the output this block: no copy
                if block.flags.c_contiguous:
                    return block
            view = _raw(data)[window]
            y = output_array(view.shape, data.dtype)
            if ext().copy_into(view, _raw(y), threads()):
                raise RuntimeDecline(f"rank {data.ndim} is beyond the copy kernel")
            return y

        return _as_prepared(reference, run)

    return prepare


def _pad_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    mode = node.attrs.get("mode", "constant")
    return None if mode in _PAD_MODES else f"mode {mode!r} (constant, reflect, edge, wrap only)"


_PAD_MODES = ("constant", "reflect", "edge", "wrap")


def _pad_window(
    shape: tuple[int, ...], pads: tuple[int, ...], axes: tuple[int, ...] | None
) -> tuple[tuple[int, ...], tuple[slice, ...], list[int], list[int]]:
    """(output shape, where the input goes in it, begin pads, end pads) for non-negative pads."""
    rank = len(shape)
    axes = tuple(range(rank)) if axes is None else tuple(_norm_axis(a, rank) for a in axes)
    if len(pads) != 2 * len(axes) or len(set(axes)) != len(axes) or min(pads, default=0) < 0:
        raise RuntimeDecline(f"pads {list(pads)} on axes {list(axes)}: not plain growth")
    begin, end = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begin[a], end[a] = pads[i], pads[i + len(axes)]
    out = tuple(d + b + e for d, b, e in zip(shape, begin, end))
    return out, tuple(slice(b, b + d) for b, d in zip(begin, shape)), begin, end


def _prepare_pad(reference: Callable[..., Any], *, wrap: bool) -> Callable[..., Any]:
    """wrap: the version has mode "wrap" (Pad-19)."""

    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        from .pad_modes import border_refusal, fill_borders

        fixed = _constant_inputs(node, constants, 1)  # else pads/value/axes are read per call
        mode = str(node.attrs.get("mode", "constant"))
        if mode == "wrap" and not wrap:
            mode = ""  # the reference's error
        params = (
            (_int_tuple(constants.get(1)) or (), constants.get(2), _int_tuple(constants.get(3)))
            if fixed
            else None
        )
        windows: dict[Any, tuple] = {}

        def run(data: Array, *args: Any, **_: Any) -> Array:
            if params is not None:
                pads, fill, axes = params
            else:
                given = tuple(args) + (None,) * (3 - len(args))
                pads, fill, axes = _int_tuple(given[0]) or (), given[1], _int_tuple(given[2])
            key = (data.shape, pads, axes)
            window = windows.get(key)
            if window is None:
                window = _remember(windows, key, _pad_window(data.shape, pads, axes))
            if mode != "constant":
                why = border_refusal(mode, data.shape, window[2], window[3]) if mode else "mode"
                if why:
                    raise RuntimeDecline(why)
            y = output_array(window[0], data.dtype)
            if mode == "constant":
                ext().fill(_fill_value(values, fill, data.dtype), _raw(y))
            if ext().copy_into(_raw(data), _raw(y)[window[1]], threads()):
                raise RuntimeDecline(f"rank {data.ndim} is beyond the copy kernel")
            if mode != "constant":
                fill_borders(_raw(y), data.shape, window[2], window[3], mode, threads())
            return y

        values: dict[Any, Array] = {}  # (dtype, value bytes) -> the fill element (kept alive)
        return _as_prepared(reference, run)  # a fill and a copy, both recorded C calls

    return prepare


def _fill_value(values: dict[Any, Array], fill: Any, dtype: np.dtype) -> Array:
    """The pad value as one element of `dtype`, as raw bytes; the same array for the same value
    (a recorded fill points at it)."""
    one = np.zeros(1, dtype) if fill is None else np.asarray(fill).astype(dtype).reshape(-1)[:1]
    key = (dtype, one.tobytes())
    found = values.get(key)
    if found is None:
        found = _remember(values, key, np.frombuffer(one.tobytes(), np.uint8).copy())
    return found


def _prepare_gather(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    from ..refimpl.ops.op_gather import gather_1  # imported by its table

    given = int(node.attrs.get("axis", 0))
    plans: dict[Any, tuple] = {}

    def run(data: Array, indices: Array, **_: Any) -> Array:
        key = (data.shape, indices.shape)
        plan = plans.get(key)
        if plan is None:
            a = _norm_axis(given, data.ndim)
            shape = data.shape[:a] + indices.shape + data.shape[a + 1 :]
            outer, inner = int(np.prod(data.shape[:a])), int(np.prod(data.shape[a + 1 :]))
            plan = _remember(plans, key, (shape, outer, data.shape[a], inner))
        if indices.dtype not in _INDEX:
            raise RuntimeDecline(f"indices of dtype {indices.dtype}")
        shape, outer, dim, inner = plan
        y = output_array(shape, data.dtype)
        x = data if data.flags.c_contiguous else np.ascontiguousarray(data)
        idx = indices if indices.flags.c_contiguous else np.ascontiguousarray(indices)
        bad = ext().gather_rows(
            _raw(x), idx, _raw(y), outer, dim, inner * data.dtype.itemsize, threads()
        )
        if bad >= 0:
            raise RuntimeDecline(f"index {int(idx.reshape(-1)[bad])} out of range for {dim}")
        return y

    return _as_prepared(gather_1, run)


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


def _concat() -> dict[str, Kernel]:
    from ..refimpl.ops.op_concat import concat_4

    return {"concat": _declare(concat_4, _prepare_concat)}


def _split() -> dict[str, Kernel]:
    from ..refimpl.ops.op_split import split_2, split_13, split_18

    return {
        "split_2": _declare(split_2, _prepare_split(split_2, split_input=False)),
        "split_13": _declare(split_13, _prepare_split(split_13)),
        "split_18": _declare(split_18, _prepare_split(split_18, uneven=True)),
    }


def _slice() -> dict[str, Kernel]:
    from ..refimpl.ops.op_slice import slice_1, slice_10

    return {
        "slice_1": _declare(slice_1, _prepare_slice(slice_1, from_attrs=True)),
        "slice_10": _declare(slice_10, _prepare_slice(slice_10, from_attrs=False)),
    }


def _gather() -> dict[str, Kernel]:
    from ..refimpl.ops.op_gather import gather_1

    return {"gather": _declare(gather_1, _prepare_gather)}


def _pad() -> dict[str, Kernel]:
    from ..refimpl.ops.op_pad import pad_11, pad_18, pad_19

    return {
        f"pad_{since}": _declare(ref, _prepare_pad(ref, wrap=since >= 19), _pad_refusal)
        for since, ref in ((11, pad_11), (18, pad_18), (19, pad_19))
    }


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
        "ConcatKernels": _concat,
        "SplitKernels": _split,
        "SliceKernels": _slice,
        "GatherKernels": _gather,
        "PadKernels": _pad,
        "ReshapeKernels": _reshape,
        "FlattenKernels": _flatten,
        "SqueezeKernels": _squeeze,
        "UnsqueezeKernels": _unsqueeze,
    },
)
