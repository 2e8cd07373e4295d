"""TFLite builtins that make tensors from shapes and scalars, as ONNX ops.

- SHAPE (shape.cc): the input's dims as int32 or int64 (`out_type`); folded into a constant at
  import when the shape is static. RANK: the input's rank, an int32 scalar (always static).
- FILL (fill.cc): `value` (0-d) broadcast to `dims` (ONNX Expand).
- ZEROS_LIKE: zeros of the input's shape and type (Expand of a scalar zero to Shape(x)).
- BROADCAST_ARGS (broadcast_args.cc): the shape two shapes broadcast to (folded when both are
  constants; else per aligned dim: the other one where a dim is 1).
- RANGE (range.cc): start, start + delta, ... below limit (above it for a negative delta):
  ONNX Range, whose inputs have the same scalar type.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.dtypes import ONNX_TYPE_CODES
from .context import Context, Converter, Unsupported, arity
from .reader import Operator

_ONNX_CODE = {name: code for code, name in ONNX_TYPE_CODES.items()}
INT64 = 7


def _out(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def _static(ctx: Context, index: int) -> bool:
    t = ctx.tensor(index)
    return t.shape_signature is None or all(d >= 0 for d in t.shape_signature)


def shape(ctx: Context, op: Operator) -> None:
    x, out = op.inputs[0], ctx.tensor(op.outputs[0]).dtype
    if out not in ("int32", "int64"):
        raise Unsupported(f"a shape of type {out}")
    if _static(ctx, x):  # folded: later ops (RESHAPE...) may need it as a constant
        ctx.constants[op.outputs[0]] = np.array(ctx.tensor(x).shape, out)
        return
    dims = ctx.emit("Shape", [ctx.name(x)])
    if out == "int64":
        ctx.emit("Identity", [dims], _out(ctx, op))
        return
    ctx.emit("Cast", [dims], _out(ctx, op), to=_ONNX_CODE[out])


def rank(ctx: Context, op: Operator) -> None:
    ctx.constants[op.outputs[0]] = np.array(len(ctx.tensor(op.inputs[0]).shape), np.int32)


def fill(ctx: Context, op: Operator) -> None:
    dims, value = op.inputs[0], op.inputs[1]
    if ctx.tensor(value).shape:
        raise Unsupported(f"its value has shape {ctx.tensor(value).shape}, not a scalar")
    target = ctx.name(dims)
    if ctx.tensor(dims).dtype != "int64":
        target = ctx.emit("Cast", [target], to=INT64)
    ctx.emit("Expand", [ctx.name(value), target], _out(ctx, op))


def zeros_like(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    dtype = ctx.tensor(x).dtype
    if dtype not in _ONNX_CODE:
        raise Unsupported(f"an input of type {dtype}")
    zero = ctx.add_const("zero", np.zeros((), dtype))
    ctx.emit("Expand", [zero, ctx.emit("Shape", [ctx.name(x)])], _out(ctx, op))


def broadcast_args(ctx: Context, op: Operator) -> None:
    a, b = op.inputs[0], op.inputs[1]
    dtype = ctx.tensor(op.outputs[0]).dtype
    if a in ctx.constants and b in ctx.constants:
        try:
            shape = np.broadcast_shapes(tuple(ctx.constants[a]), tuple(ctx.constants[b]))
        except ValueError as err:
            raise Unsupported(f"shapes that do not broadcast ({err})") from err
        ctx.constants[op.outputs[0]] = np.array(shape, dtype)
        return
    (n_a,), (n_b,) = ctx.tensor(a).shape, ctx.tensor(b).shape
    n = max(n_a, n_b)

    def aligned(index: int, length: int) -> str:
        name = ctx.name(index)
        if length == n:
            return name
        ones = ctx.add_const("ones", np.ones(n - length, ctx.tensor(index).dtype))
        return ctx.emit("Concat", [ones, name], axis=0)

    x, y = aligned(a, n_a), aligned(b, n_b)
    one = ctx.add_const("one", np.ones((), ctx.tensor(a).dtype))
    ctx.emit("Where", [ctx.emit("Equal", [x, one]), y, x], _out(ctx, op))


def range_(ctx: Context, op: Operator) -> None:
    dtypes = {ctx.tensor(i).dtype for i in op.inputs[:3]}
    if len(dtypes) != 1:
        raise Unsupported(f"start, limit and delta of different types {sorted(dtypes)}")
    ctx.emit("Range", [ctx.name(i) for i in op.inputs[:3]], _out(ctx, op))


CONVERTERS: dict[str, Converter] = {
    "SHAPE": arity(1)(shape),
    "RANK": arity(1)(rank),
    "FILL": arity(2)(fill),
    "ZEROS_LIKE": arity(1)(zeros_like),
    "RANGE": arity(3)(range_),
    "BROADCAST_ARGS": arity(2)(broadcast_args),
}
