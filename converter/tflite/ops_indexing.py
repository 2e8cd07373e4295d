"""GATHER (with batch_dims), SELECT (v1) and MIRROR_PAD (REFLECT and SYMMETRIC) as ONNX ops.

- GATHER (gather.cc): out = params[:axis] + indices[batch_dims:] + params[axis + 1:]; with
  batch_dims b the first b dims of params and indices are shared. ONNX Gather has no batch
  dims, GatherND does (gathering along dim b): params' gathered axis is moved to b first, and the
  params dims between b and the axis moved back after the index dims.
- SELECT (select.cc, v1): no broadcasting, except a rank-1 condition with a higher-rank x, which
  picks whole rows (along dim 0); SELECT_V2 broadcasts like numpy (ONNX Where).
- MIRROR_PAD (mirror_pad.cc): REFLECT leaves the edge out (ONNX Pad reflect), SYMMETRIC repeats
  it: per padded axis, Concat(reversed first `before` rows, x, reversed last `after` rows).
"""

from __future__ import annotations

import numpy as np

from .context import Context, Unsupported
from .reader import Operator

INT64_MIN = int(np.iinfo(np.int64).min)


def _rank(ctx: Context, index: int) -> int:
    return len(ctx.tensor(index).shape)


def _out(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def gather(ctx: Context, op: Operator) -> None:
    params, indices = op.inputs[0], op.inputs[1]
    rank, i_rank = _rank(ctx, params), _rank(ctx, indices)
    axis, batch = int(op.options.get("axis", 0)), int(op.options.get("batch_dims", 0))
    axis += rank if axis < 0 else 0
    batch += i_rank if batch < 0 else 0
    if not 0 <= axis < rank or not 0 <= batch <= min(axis, i_rank):
        raise Unsupported(f"axis {axis} / batch_dims {batch} for ranks {rank} and {i_rank}")
    x, idx = ctx.name(params), ctx.name(indices)
    if batch == 0:
        ctx.emit("Gather", [x, idx], _out(ctx, op), axis=axis)
        return
    if axis != batch:  # the gathered axis to dim b
        perm = [*range(batch), axis, *range(batch, axis), *range(axis + 1, rank)]
        x = ctx.emit("Transpose", [x], perm=perm)
    idx = ctx.emit("Unsqueeze", [idx, ctx.int64s([-1])])
    if ctx.tensor(indices).dtype != "int64":
        idx = ctx.emit("Cast", [idx], to=7)
    if axis == batch:
        ctx.emit("GatherND", [x, idx], _out(ctx, op), batch_dims=batch)
        return
    y = ctx.emit("GatherND", [x, idx], batch_dims=batch)
    # y: [B, I, M, rest] with M the params dims batch..axis-1; TFLite's: [B, M, I, rest]
    n_i, n_m = i_rank - batch, axis - batch
    perm = [*range(batch), *range(batch + n_i, batch + n_i + n_m), *range(batch, batch + n_i),
            *range(batch + n_i + n_m, rank - 1 + n_i)]  # fmt: skip
    ctx.emit("Transpose", [y], _out(ctx, op), perm=perm)


def select(ctx: Context, op: Operator) -> None:
    cond, x, y = (ctx.name(i) for i in op.inputs[:3])
    c_rank, x_rank = _rank(ctx, op.inputs[0]), _rank(ctx, op.inputs[1])
    if c_rank == 1 and x_rank > 1:  # a row mask
        cond = ctx.emit("Reshape", [cond, ctx.int64s([-1] + [1] * (x_rank - 1))])
    elif ctx.tensor(op.inputs[0]).shape != ctx.tensor(op.inputs[1]).shape:
        # LiteRT's prepare refuses other shapes (select.cc: HaveSameShapes)
        shapes = [list(ctx.tensor(i).shape) for i in op.inputs[:3]]
        raise Unsupported(f"shapes {shapes} (SELECT does not broadcast; SELECT_V2 does)")
    ctx.emit("Where", [cond, x, y], _out(ctx, op))


def mirror_pad(ctx: Context, op: Operator) -> None:
    pads = np.asarray(ctx.const(op.inputs[1], "paddings")).astype(np.int64)
    rank = _rank(ctx, op.inputs[0])
    if pads.shape != (rank, 2) or (pads < 0).any():
        raise Unsupported(f"paddings {pads.tolist()} for a rank-{rank} input")
    x = ctx.name(op.inputs[0])
    mode = int(op.options.get("mode", 0))
    t = ctx.tensor(op.inputs[0])
    dims = t.shape_signature if t.shape_signature is not None else t.shape
    if any(0 <= d < max(p) + (mode == 0) for p, d in zip(pads.tolist(), dims)):  # mirror_pad.cc
        raise Unsupported(f"paddings {pads.tolist()} beyond what shape {list(dims)} mirrors")
    if mode == 0:  # REFLECT
        inputs = [x, ctx.int64s([*pads[:, 0], *pads[:, 1]])]
        ctx.emit("Pad", inputs, _out(ctx, op), mode="reflect")
        return
    if mode != 1:
        raise Unsupported(f"mirror pad mode {mode}")
    padded = [a for a in range(rank) if pads[a].any()]
    if not padded:
        ctx.emit("Identity", [x], _out(ctx, op))
    for a in padded:
        before, after = (int(v) for v in pads[a])
        parts = []
        if before:  # x[before-1::-1] along a
            parts.append(_reversed(ctx, x, a, before - 1, INT64_MIN))
        parts.append(x)
        if after:  # x[-1:-after-1:-1] along a
            parts.append(_reversed(ctx, x, a, -1, -after - 1))
        x = ctx.emit("Concat", parts, _out(ctx, op) if a == padded[-1] else None, axis=a)


def _reversed(ctx: Context, x: str, axis: int, start: int, end: int) -> str:
    inputs = [x, ctx.int64s([start]), ctx.int64s([end]), ctx.int64s([axis]), ctx.int64s([-1])]
    return ctx.emit("Slice", inputs)
