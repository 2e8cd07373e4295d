"""Shape, layout, reduction and constant ops: RESHAPE, SQUEEZE, EXPAND_DIMS, TRANSPOSE,
CONCATENATION, PAD/PADV2, MEAN/SUM/REDUCE_MAX/REDUCE_MIN/REDUCE_PROD, and DEQUANTIZE of float16
constants (folded at import into float32 constants, as LiteRT does when it prepares the graph)."""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported
from .reader import Operator


def _out(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def _ints(ctx: Context, index: int, what: str) -> list[int]:
    value = ctx.const(index, what)
    if value.dtype.kind not in "iu":
        raise Unsupported(f"its {what} is {value.dtype}, not integers")
    return [int(v) for v in np.asarray(value).reshape(-1)]


def reshape(ctx: Context, op: Operator) -> None:
    out = ctx.tensor(op.outputs[0])
    if len(op.inputs) > 1 and op.inputs[1] >= 0 and op.inputs[1] in ctx.constants:
        shape = _ints(ctx, op.inputs[1], "shape")
    elif "new_shape" in op.options and op.options["new_shape"]:
        shape = [int(d) for d in op.options["new_shape"]]
    else:  # a computed shape operand: the output's shape as the converter recorded it
        signature = out.shape_signature or out.shape
        if list(signature).count(-1) > 1:
            raise Unsupported("its shape is computed and the output has several dynamic dims")
        shape = list(signature)
    ctx.emit("Reshape", [ctx.name(op.inputs[0]), ctx.int64s(shape)], _out(ctx, op))


def squeeze(ctx: Context, op: Operator) -> None:
    dims = [int(d) for d in op.options.get("squeeze_dims", [])]
    inputs = [ctx.name(op.inputs[0])]
    if dims:
        inputs.append(ctx.int64s(dims))
    else:  # every size-1 dim, known from the input's shape
        t = ctx.tensor(op.inputs[0])
        signature = t.shape_signature if t.shape_signature is not None else t.shape
        if -1 in signature:
            raise Unsupported("squeezing every size-1 dim of a dynamic shape")
        inputs.append(ctx.int64s([i for i, d in enumerate(t.shape) if d == 1]))
    ctx.emit("Squeeze", inputs, _out(ctx, op))


def expand_dims(ctx: Context, op: Operator) -> None:
    (axis,) = _ints(ctx, op.inputs[1], "axis")
    ctx.emit("Unsqueeze", [ctx.name(op.inputs[0]), ctx.int64s([axis])], _out(ctx, op))


def transpose(ctx: Context, op: Operator) -> None:
    perm = _ints(ctx, op.inputs[1], "permutation")
    rank = len(ctx.tensor(op.inputs[0]).shape)
    perm = [p + rank if p < 0 else p for p in perm]
    ctx.emit("Transpose", [ctx.name(op.inputs[0])], _out(ctx, op), perm=perm)


def concatenation(ctx: Context, op: Operator) -> None:
    if int(op.options.get("fused_activation_function", 0)) != 0:
        # LiteRT's float kernel refuses it too (concatenation.cc: activation must be NONE)
        raise Unsupported("a fused activation on a float CONCATENATION")
    inputs = [ctx.name(i) for i in op.inputs]
    ctx.emit("Concat", inputs, _out(ctx, op), axis=int(op.options.get("axis", 0)))


def pad(ctx: Context, op: Operator) -> None:
    pads = np.asarray(ctx.const(op.inputs[1], "paddings"))
    rank = len(ctx.tensor(op.inputs[0]).shape)
    if pads.shape != (rank, 2):
        raise Unsupported(f"paddings of shape {pads.shape} for a rank-{rank} input")
    inputs = [ctx.name(op.inputs[0]), ctx.int64s([*pads[:, 0], *pads[:, 1]])]
    if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(ctx.name(op.inputs[2]))
    if ctx.tensor(op.inputs[0]).quantization is not None:
        raise Unsupported("quantized PAD pads with the zero point")
    ctx.emit("Pad", inputs, _out(ctx, op), mode="constant")


def _reduce(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        rank = len(ctx.tensor(op.inputs[0]).shape)
        axes = sorted({a + rank if a < 0 else a for a in _ints(ctx, op.inputs[1], "axes")})
        keep = int(bool(op.options.get("keep_dims", False)))
        inputs = [ctx.name(op.inputs[0]), ctx.int64s(axes)]
        ctx.emit(op_type, inputs, _out(ctx, op), keepdims=keep)

    return convert


def dequantize(ctx: Context, op: Operator) -> None:
    t = ctx.tensor(op.inputs[0])
    if t.dtype != "float16" or op.inputs[0] not in ctx.constants:
        raise Unsupported(f"only float16 constants are dequantized so far ({t.dtype} input)")
    ctx.constants[op.outputs[0]] = ctx.constants[op.inputs[0]].astype(np.float32)


CONVERTERS: dict[str, Converter] = {
    "RESHAPE": reshape,
    "SQUEEZE": squeeze,
    "EXPAND_DIMS": expand_dims,
    "TRANSPOSE": transpose,
    "CONCATENATION": concatenation,
    "PAD": pad,
    "PADV2": pad,
    "MEAN": _reduce("ReduceMean"),
    "SUM": _reduce("ReduceSum"),
    "REDUCE_MAX": _reduce("ReduceMax"),
    "REDUCE_MIN": _reduce("ReduceMin"),
    "REDUCE_PROD": _reduce("ReduceProd"),
    "DEQUANTIZE": dequantize,
}
