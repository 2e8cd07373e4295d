"""Less common TFLite indexing and array builtins as ONNX ops (the scattering ones: ops_scatter.py).

- GATHER_ND (gather_nd.cc): ONNX GatherND, indices cast to int64.
- REVERSE_V2 (reverse.cc): a Slice with step -1 on each axis.
- ONE_HOT (one_hot.cc): on_value where index == j else off_value; an index outside [0, depth)
  (negative too) gives a row of off_value, which ONNX OneHot would wrap, so it is Equal + Where.
- MATRIX_DIAG: [..., n] -> [..., n, n] with the input on the diagonal, zeros elsewhere.
  MATRIX_SET_DIAG: [..., M, N] with its main diagonal replaced by [..., min(M, N)].
- REVERSE_SEQUENCE (reverse_sequence.cc): the first seq_lengths[b] entries along seq_dim of each
  batch_dim slice reversed: ONNX ReverseSequence (time and batch axes moved to 1 and 0 first
  when they are elsewhere).
- WHERE (where.cc, one input): the int64 coordinates [num_true, rank] of the non-zero elements,
  row-major: ONNX NonZero transposed.
- TOPK_V2 (topk_v2.cc): the k largest along the last axis, sorted, ties to the lower index; the
  indices are int32.
- EMBEDDING_LOOKUP: rows of the table (Gather on axis 0).
- BATCH_TO_SPACE_ND / SPACE_TO_BATCH_ND: Pad/Reshape/Transpose/Slice over the M spatial dims
  after the batch (static shapes, constant block shape, paddings and crops).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.dtypes import ONNX_TYPE_CODES
from .context import Context, Converter, Unsupported, arity
from .reader import Operator

_ONNX_CODE = {name: code for code, name in ONNX_TYPE_CODES.items()}
INT64, INT64_MIN = 7, int(np.iinfo(np.int64).min)


def _out(ctx: Context, op: Operator, k: int = 0) -> list[str]:
    return [ctx.names[op.outputs[k]]]


def _ints(ctx: Context, index: int, what: str) -> list[int]:
    value = np.asarray(ctx.const(index, what))
    if value.dtype.kind not in "iu":
        raise Unsupported(f"its {what} is {value.dtype}, not integers")
    return [int(v) for v in value.reshape(-1)]


def _shape(ctx: Context, index: int) -> tuple[int, ...]:
    t = ctx.tensor(index)
    if t.shape_signature is not None and any(d < 0 for d in t.shape_signature):
        raise Unsupported(f"tensor {ctx.names[index]!r} has a dynamic shape")
    return tuple(int(d) for d in t.shape)


def _int64(ctx: Context, index: int) -> str:
    name = ctx.name(index)
    if ctx.tensor(index).dtype == "int64":
        return name
    return ctx.emit("Cast", [name], to=INT64)


def gather_nd(ctx: Context, op: Operator) -> None:
    inputs = [ctx.name(op.inputs[0]), _int64(ctx, op.inputs[1])]
    ctx.emit("GatherND", inputs, _out(ctx, op))


def reverse_v2(ctx: Context, op: Operator) -> None:
    rank = len(ctx.tensor(op.inputs[0]).shape)
    axes = sorted({a + rank if a < 0 else a for a in _ints(ctx, op.inputs[1], "axis")})
    if any(not 0 <= a < rank for a in axes):
        raise Unsupported(f"axes {axes} outside a rank-{rank} tensor")
    n = len(axes)
    inputs = [ctx.name(op.inputs[0]), ctx.int64s([-1] * n), ctx.int64s([INT64_MIN] * n)]
    ctx.emit("Slice", [*inputs, ctx.int64s(axes), ctx.int64s([-1] * n)], _out(ctx, op))


def one_hot(ctx: Context, op: Operator) -> None:
    indices, depth = op.inputs[0], op.inputs[1]
    rank = len(ctx.tensor(indices).shape)
    axis = int(op.options.get("axis", -1))
    axis = rank if axis == -1 else axis
    if not 0 <= axis <= rank:
        raise Unsupported(f"axis {axis} for rank-{rank} indices")
    dtype = ctx.tensor(indices).dtype
    if dtype not in ("int32", "int64"):
        raise Unsupported(f"{dtype} indices")
    trailing = [1] * (rank - axis)  # positions run along `axis` of the output
    constant = _ints(ctx, depth, "depth") if depth in ctx.constants else None
    if constant is not None and len(constant) == 1 and 0 <= constant[0] <= 1 << 16:
        n = constant[0]
        positions = np.arange(n, dtype=dtype).reshape([n, *trailing])
        where = ctx.add_const("one_hot_positions", positions)
    else:  # computed (or large: made at run time, under the memory limit)
        n_name = ctx.name(depth)
        if ctx.tensor(depth).dtype != dtype:
            n_name = ctx.emit("Cast", [n_name], to=_ONNX_CODE[dtype])
        start, step = (ctx.add_const("c", np.array(v, dtype)) for v in (0, 1))
        where = ctx.emit("Range", [start, ctx.emit("Reshape", [n_name, ctx.int64s([])]), step])
        where = ctx.emit("Reshape", [where, ctx.int64s([-1, *trailing])])
    idx = ctx.emit("Unsqueeze", [ctx.name(indices), ctx.int64s([axis])])
    hit = ctx.emit("Equal", [idx, where])
    on, off = ctx.name(op.inputs[2]), ctx.name(op.inputs[3])
    ctx.emit("Where", [hit, on, off], _out(ctx, op))


def matrix_diag(ctx: Context, op: Operator) -> None:
    t = ctx.tensor(op.inputs[0])
    n = _shape(ctx, op.inputs[0])[-1]
    row = ctx.emit("Unsqueeze", [ctx.name(op.inputs[0]), ctx.int64s([-2])])  # [..., 1, n]
    eye = ctx.add_const("diag_mask", np.eye(n, dtype=bool))
    zero = ctx.add_const("zero", np.zeros((), t.dtype))
    ctx.emit("Where", [eye, row, zero], _out(ctx, op))


def matrix_set_diag(ctx: Context, op: Operator) -> None:
    m, n = _shape(ctx, op.inputs[0])[-2:]
    diag = ctx.name(op.inputs[1])
    if min(m, n) < n:  # the diagonal padded to a row's length
        rank = len(ctx.tensor(op.inputs[1]).shape)
        pads = [0] * (2 * rank)
        pads[-1] = n - min(m, n)
        diag = ctx.emit("Pad", [diag, ctx.int64s(pads)])
    row = ctx.emit("Unsqueeze", [diag, ctx.int64s([-2])])  # [..., 1, n]
    eye = ctx.add_const("diag_mask", np.eye(m, n, dtype=bool))
    ctx.emit("Where", [eye, row, ctx.name(op.inputs[0])], _out(ctx, op))


def reverse_sequence(ctx: Context, op: Operator) -> None:
    rank = len(ctx.tensor(op.inputs[0]).shape)
    seq, batch = int(op.options.get("seq_dim", 0)), int(op.options.get("batch_dim", 0))
    seq, batch = seq + rank if seq < 0 else seq, batch + rank if batch < 0 else batch
    if seq == batch or not (0 <= seq < rank and 0 <= batch < rank):
        raise Unsupported(f"seq_dim {seq} / batch_dim {batch} for a rank-{rank} input")
    x, lengths = ctx.name(op.inputs[0]), _int64(ctx, op.inputs[1])
    perm = [batch, seq] + [d for d in range(rank) if d not in (batch, seq)]
    if perm == list(range(rank)) or perm[:2] == [1, 0] and perm[2:] == list(range(2, rank)):
        ctx.emit("ReverseSequence", [x, lengths], _out(ctx, op), batch_axis=batch, time_axis=seq)
        return
    x = ctx.emit("Transpose", [x], perm=perm)
    y = ctx.emit("ReverseSequence", [x, lengths], batch_axis=0, time_axis=1)
    ctx.emit("Transpose", [y], _out(ctx, op), perm=[perm.index(d) for d in range(rank)])


def where(ctx: Context, op: Operator) -> None:
    if len(op.inputs) != 1:
        raise Unsupported("WHERE with x and y inputs (the select form)")
    found = ctx.emit("NonZero", [ctx.name(op.inputs[0])])
    out = ctx.tensor(op.outputs[0]).dtype
    if out == "int64":
        ctx.emit("Transpose", [found], _out(ctx, op), perm=[1, 0])
        return
    ctx.emit("Cast", [ctx.emit("Transpose", [found], perm=[1, 0])], _out(ctx, op),
             to=_ONNX_CODE[out])  # fmt: skip


def topk_v2(ctx: Context, op: Operator) -> None:
    if op.inputs[1] in ctx.constants:
        k = ctx.int64s(_ints(ctx, op.inputs[1], "k"))
    else:  # computed at run time
        k = ctx.emit("Reshape", [_int64(ctx, op.inputs[1]), ctx.int64s([1])])
    indices = ctx.fresh(f"topk_{op.index}_indices")
    values = _out(ctx, op, 0)[0]
    ctx.emit("TopK", [ctx.name(op.inputs[0]), k], [values, indices], axis=-1,
             largest=1, sorted=1)  # fmt: skip
    out = ctx.tensor(op.outputs[1]).dtype
    if out not in _ONNX_CODE:
        raise Unsupported(f"an index output of type {out}")
    ctx.emit("Cast", [indices], _out(ctx, op, 1), to=_ONNX_CODE[out])


def embedding_lookup(ctx: Context, op: Operator) -> None:
    ids, table = op.inputs[0], op.inputs[1]
    ctx.emit("Gather", [ctx.name(table), ctx.name(ids)], _out(ctx, op), axis=0)


def _blocks(ctx: Context, op: Operator) -> tuple[tuple[int, ...], list[int], list[int]]:
    shape = _shape(ctx, op.inputs[0])
    block = _ints(ctx, op.inputs[1], "block shape")
    pads = _ints(ctx, op.inputs[2], "paddings or crops")
    m = len(block)
    if m < 1 or len(shape) < m + 1 or len(pads) != 2 * m or min(block) < 1 or min(pads) < 0:
        raise Unsupported(f"block shape {block} / paddings {pads} for input shape {shape}")
    return shape, block, pads


def space_to_batch_nd(ctx: Context, op: Operator) -> None:
    """[B, S_1.., rest] padded, each S_i split into (S_i / b_i, b_i), the block dims moved
    first: [b_1.., B, S_1 / b_1.., rest] -> [prod(b) * B, S_1 / b_1.., rest]."""
    shape, block, pads = _blocks(ctx, op)
    m, rank = len(block), len(shape)
    padded = [shape[1 + i] + pads[2 * i] + pads[2 * i + 1] for i in range(m)]
    if any(p % b for p, b in zip(padded, block)):
        raise Unsupported(f"padded spatial dims {padded} are not multiples of {block}")
    x = ctx.name(op.inputs[0])
    if any(pads):
        onnx_pads = [0] * (2 * rank)
        for i in range(m):
            onnx_pads[1 + i], onnx_pads[rank + 1 + i] = pads[2 * i], pads[2 * i + 1]
        x = ctx.emit("Pad", [x, ctx.int64s(onnx_pads)])
    split = [shape[0]]
    for p, b in zip(padded, block):
        split += [p // b, b]
    x = ctx.emit("Reshape", [x, ctx.int64s(split + list(shape[m + 1 :]))])
    rest = list(range(2 * m + 1, 2 * m + rank - m))
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + rest
    x = ctx.emit("Transpose", [x], perm=perm)
    out = [int(np.prod(block)) * shape[0]] + [p // b for p, b in zip(padded, block)]
    ctx.emit("Reshape", [x, ctx.int64s(out + list(shape[m + 1 :]))], _out(ctx, op))


def batch_to_space_nd(ctx: Context, op: Operator) -> None:
    """The inverse: [prod(b) * B, S.., rest] -> [b_1.., B, S_1.., rest] -> [B, S_1, b_1, ..]
    -> [B, S_1 * b_1.., rest], then the crops cut off."""
    shape, block, crops = _blocks(ctx, op)
    m, rank = len(block), len(shape)
    total = int(np.prod(block))
    if shape[0] % total:
        raise Unsupported(f"batch {shape[0]} is not a multiple of the block size {total}")
    batch, rest = shape[0] // total, list(shape[m + 1 :])
    x = ctx.emit("Reshape", [ctx.name(op.inputs[0]), ctx.int64s(block + [batch] + list(shape[1:]))])
    perm = [m]
    for i in range(m):
        perm += [m + 1 + i, i]
    perm += list(range(2 * m + 1, m + rank))
    x = ctx.emit("Transpose", [x], perm=perm)
    full = [shape[1 + i] * block[i] for i in range(m)]
    if not any(crops):
        ctx.emit("Reshape", [x, ctx.int64s([batch] + full + rest)], _out(ctx, op))
        return
    x = ctx.emit("Reshape", [x, ctx.int64s([batch] + full + rest)])
    starts = [crops[2 * i] for i in range(m)]
    ends = [full[i] - crops[2 * i + 1] for i in range(m)]
    if any(e < s for s, e in zip(starts, ends)):
        raise Unsupported(f"crops {crops} larger than the spatial dims {full}")
    inputs = [x, ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(list(range(1, m + 1)))]
    ctx.emit("Slice", inputs, _out(ctx, op))


CONVERTERS: dict[str, Converter] = {
    "GATHER_ND": arity(2)(gather_nd),
    "REVERSE_V2": arity(2)(reverse_v2),
    "ONE_HOT": arity(4)(one_hot),
    "MATRIX_DIAG": arity(1)(matrix_diag),
    "MATRIX_SET_DIAG": arity(2)(matrix_set_diag),
    "REVERSE_SEQUENCE": arity(2)(reverse_sequence),
    "WHERE": arity(1)(where),
    "TOPK_V2": arity(2, 2)(topk_v2),
    "EMBEDDING_LOOKUP": arity(2)(embedding_lookup),
    "SPACE_TO_BATCH_ND": arity(3)(space_to_batch_nd),
    "BATCH_TO_SPACE_ND": arity(3)(batch_to_space_nd),
}
