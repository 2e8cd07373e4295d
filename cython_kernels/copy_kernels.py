"""Copy kernels for every fixed-size dtype: Concat, Split, Slice, Gather and Pad (constant;
reflect, edge and wrap in pad_modes.py) as strided copies in C (src/layout.c), with the helpers
of layout_kernels.py (which has Transpose and the views).

The Python side of each call is kept small: what depends only on the input shape (output shape,
window) is cached per shape on first use. A call the kernel cannot run exactly (bad axes,
out-of-range indices, a shape that does not fit) raises RuntimeDecline, so the reference runs it
and raises its own error.

One table per op (ConcatKernels, SplitKernels, ...: backend.TABLES), each built on first access
with its reference-op module imported then (lazy_tables.tables_on_access): a model's first load
imports the reference modules of the copy ops it has, not all five. The prepare hooks import
their reference when they run (their table has imported it by then) or take it, with what
differs between its versions, as arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array, output_is_view
from ..plugins.backend import Kernel
from ..refimpl import op_geometry  # its names import their op module on first use
from ..refimpl.ir import Node, Value
from ._common import threads
from ._native import ext
from .layout_kernels import (
    _INDEX,
    Array,
    _as_prepared,
    _constant_inputs,
    _declare,
    _int_tuple,
    _norm_axis,
    _raw,
    _remember,
)
from .lazy_tables import tables_on_access


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


# ---- the tables: one per op, built on first access -------------------------------------------


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


__getattr__ = tables_on_access(
    __name__,
    {
        "ConcatKernels": _concat,
        "SplitKernels": _split,
        "SliceKernels": _slice,
        "GatherKernels": _gather,
        "PadKernels": _pad,
    },
)
