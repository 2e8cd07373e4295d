"""TFLite builtins that write or combine values at computed positions, as ONNX ScatterND.

- SCATTER_ND (scatter_nd.cc): zeros of the constant `shape` with the updates *added* (duplicate
  indices accumulate): ScatterND with reduction "add".
- UNSORTED_SEGMENT_SUM / PROD / MAX / MIN (unsorted_segment.cc): out[num_segments, rest] starts
  at 0 / 1 / the type's lowest / highest value, and each data slice is combined into the row of
  its segment id; ids outside [0, num_segments) are skipped (here: sent to an extra row that is
  cut off). segment_ids may cover several leading dims of data.
- SEGMENT_SUM (segment_sum.cc): sorted 1-D ids, num_segments = max(id) + 1 (computed at run time).
- SPARSE_TO_DENSE (sparse_to_dense.cc): default_value everywhere, values[i] at indices[i]
  (a later duplicate wins); indices [N, rank], [N] (rank 1) or a scalar, values [N] or a scalar.
- DYNAMIC_UPDATE_SLICE (dynamic_update_slice.cc): operand with `update` written from the start
  indices, each clamped to [0, dim - update dim] so the update fits.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported, arity
from .reader import Operator

INT64 = 7
_REDUCTION = {"SUM": "add", "PROD": "mul", "MAX": "max", "MIN": "min"}


def _out(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def _int64(ctx: Context, index: int) -> str:
    name = ctx.name(index)
    return name if ctx.tensor(index).dtype == "int64" else ctx.emit("Cast", [name], to=INT64)


def _static_shape(ctx: Context, index: int) -> tuple[int, ...]:
    t = ctx.tensor(index)
    if t.shape_signature is not None and any(d < 0 for d in t.shape_signature):
        raise Unsupported(f"tensor {ctx.names[index]!r} has a dynamic shape")
    return tuple(int(d) for d in t.shape)


def scatter_nd(ctx: Context, op: Operator) -> None:
    indices, updates = op.inputs[0], op.inputs[1]
    shape = [int(v) for v in np.asarray(ctx.const(op.inputs[2], "shape")).reshape(-1)]
    if min(shape, default=0) < 0:
        raise Unsupported(f"a negative dimension in shape {shape}")
    zero = ctx.add_const("zero", np.zeros((), ctx.tensor(updates).dtype))
    zeros = ctx.emit("Expand", [zero, ctx.int64s(shape)])  # at run time, under its memory limit
    inputs = [zeros, _int64(ctx, indices), ctx.name(updates)]
    ctx.emit("ScatterND", inputs, _out(ctx, op), reduction="add")


def _initial(kind: str, dtype: np.dtype) -> np.ndarray:
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    value = {"SUM": 0, "PROD": 1, "MAX": info.min, "MIN": info.max}[kind]
    return np.array(value, dtype)


def _unsorted_segment(kind: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        data, ids = op.inputs[0], op.inputs[1]
        (n,) = [int(v) for v in np.asarray(ctx.const(op.inputs[2], "num_segments")).reshape(-1)]
        shape, id_rank = _static_shape(ctx, data), len(ctx.tensor(ids).shape)
        if ctx.tensor(ids).shape != shape[:id_rank]:
            raise Unsupported(f"segment ids {ctx.tensor(ids).shape} for data of shape {shape}")
        dtype = np.dtype(ctx.tensor(data).dtype)
        if n < 0:
            raise Unsupported(f"num_segments {n}")
        initial = ctx.add_const("segment_initial", _initial(kind, dtype))
        start = ctx.emit("Expand", [initial, ctx.int64s([n + 1, *shape[id_rank:]])])
        idx = _int64(ctx, ids)  # ids outside [0, n) go to the extra row n
        limit = ctx.add_const("segments", np.array(n, np.int64))
        below = ctx.emit("Less", [idx, ctx.add_const("zero", np.array(0, np.int64))])
        outside = ctx.emit("Or", [below, ctx.emit("GreaterOrEqual", [idx, limit])])
        idx = ctx.emit("Where", [outside, limit, idx])
        idx = ctx.emit("Unsqueeze", [idx, ctx.int64s([-1])])
        inputs = [start, idx, ctx.name(data)]
        full = ctx.emit("ScatterND", inputs, reduction=_REDUCTION[kind])
        cut = [full, ctx.int64s([0]), ctx.int64s([n]), ctx.int64s([0])]
        ctx.emit("Slice", cut, _out(ctx, op))

    return convert


def segment_sum(ctx: Context, op: Operator) -> None:
    data, ids = op.inputs[0], op.inputs[1]
    if len(ctx.tensor(ids).shape) != 1:
        raise Unsupported("segment ids that are not 1-D")
    idx = _int64(ctx, ids)
    count = ctx.emit("Add", [ctx.emit("ReduceMax", [idx], keepdims=1), ctx.int64s([1])])
    rest = ctx.emit("Shape", [ctx.name(data)], start=1)
    zero = ctx.add_const("zero", np.zeros((), ctx.tensor(data).dtype))
    start = ctx.emit("Expand", [zero, ctx.emit("Concat", [count, rest], axis=0)])
    idx = ctx.emit("Unsqueeze", [idx, ctx.int64s([-1])])
    ctx.emit("ScatterND", [start, idx, ctx.name(data)], _out(ctx, op), reduction="add")


def sparse_to_dense(ctx: Context, op: Operator) -> None:
    indices, values = op.inputs[0], op.inputs[2]
    shape = [int(v) for v in np.asarray(ctx.const(op.inputs[1], "output_shape")).reshape(-1)]
    if min(shape, default=0) < 0:
        raise Unsupported(f"a negative dimension in output_shape {shape}")
    i_shape = ctx.tensor(indices).shape
    if len(i_shape) > 2 or (len(i_shape) == 2 and i_shape[1] != len(shape)):
        raise Unsupported(f"indices of shape {i_shape} for an output of rank {len(shape)}")
    n = i_shape[0] if i_shape else 1
    idx = ctx.emit("Reshape", [_int64(ctx, indices), ctx.int64s([n, len(shape)])])
    default = ctx.emit("Reshape", [ctx.name(op.inputs[3]), ctx.int64s([])])
    start = ctx.emit("Expand", [default, ctx.int64s(shape)])
    updates = ctx.emit("Expand", [ctx.name(values), ctx.int64s([n])])
    ctx.emit("ScatterND", [start, idx, updates], _out(ctx, op))


def dynamic_update_slice(ctx: Context, op: Operator) -> None:
    operand, update, starts = op.inputs[0], op.inputs[1], op.inputs[2]
    shape, upd = _static_shape(ctx, operand), _static_shape(ctx, update)
    if len(shape) != len(upd) or any(u > s for u, s in zip(upd, shape)):
        raise Unsupported(f"an update of shape {upd} into an operand of shape {shape}")
    if not shape:  # a scalar: the update replaces it
        ctx.emit("Identity", [ctx.name(update)], _out(ctx, op))
        return
    highest = ctx.int64s([s - u for s, u in zip(shape, upd)])
    begin = ctx.emit("Max", [ctx.emit("Min", [_int64(ctx, starts), highest]), ctx.int64s([0])])
    grid = np.stack(np.meshgrid(*[np.arange(u) for u in upd], indexing="ij"), axis=-1)
    positions = ctx.emit("Add", [ctx.add_const("update_grid", grid.astype(np.int64)), begin])
    inputs = [ctx.name(operand), positions, ctx.name(update)]
    ctx.emit("ScatterND", inputs, _out(ctx, op))


CONVERTERS: dict[str, Converter] = {
    "SCATTER_ND": arity(3)(scatter_nd),
    "SEGMENT_SUM": arity(2)(segment_sum),
    "DYNAMIC_UPDATE_SLICE": arity(3)(dynamic_update_slice),
    "SPARSE_TO_DENSE": arity(4)(sparse_to_dense),
    **{f"UNSORTED_SEGMENT_{k}": arity(3)(_unsorted_segment(k)) for k in _REDUCTION},
}
