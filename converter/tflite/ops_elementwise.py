"""Element-wise TFLite ops (float32): binary arithmetic with fused activations and numpy
broadcasting (as ONNX's), min/max, unary math and activations."""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported
from .reader import Operator


def _float(ctx: Context, op: Operator) -> None:
    for i in op.inputs:
        if i >= 0 and ctx.tensor(i).dtype != "float32":
            t = ctx.tensor(i)
            raise Unsupported(f"{t.dtype} tensors (only float32 is imported so far)")


def _binary(op_type: str, fused: bool = True) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        _float(ctx, op)
        activation = int(op.options.get("fused_activation_function", 0)) if fused else 0
        ctx.finish(op_type, [ctx.name(op.inputs[0]), ctx.name(op.inputs[1])], op.outputs[0],
                   activation)  # fmt: skip

    return convert


def _unary(op_type: str, **attrs) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        _float(ctx, op)
        ctx.emit(op_type, [ctx.name(op.inputs[0])], [ctx.names[op.outputs[0]]], **attrs)

    return convert


def _clamp(low: float, high: float) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        _float(ctx, op)
        ctx.emit("Clip", [ctx.name(op.inputs[0]), ctx.scalar(low), ctx.scalar(high)],
                 [ctx.names[op.outputs[0]]])  # fmt: skip

    return convert


def leaky_relu(ctx: Context, op: Operator) -> None:
    _float(ctx, op)
    alpha = float(op.options.get("alpha", 0.0))
    ctx.emit("LeakyRelu", [ctx.name(op.inputs[0])], [ctx.names[op.outputs[0]]], alpha=alpha)


def rsqrt(ctx: Context, op: Operator) -> None:
    _float(ctx, op)
    root = ctx.emit("Sqrt", [ctx.name(op.inputs[0])])
    ctx.emit("Reciprocal", [root], [ctx.names[op.outputs[0]]])


def square(ctx: Context, op: Operator) -> None:
    _float(ctx, op)
    x = ctx.name(op.inputs[0])
    ctx.emit("Mul", [x, x], [ctx.names[op.outputs[0]]])


def squared_difference(ctx: Context, op: Operator) -> None:
    _float(ctx, op)
    d = ctx.emit("Sub", [ctx.name(op.inputs[0]), ctx.name(op.inputs[1])])
    ctx.emit("Mul", [d, d], [ctx.names[op.outputs[0]]])


def prelu(ctx: Context, op: Operator) -> None:
    _float(ctx, op)
    ctx.emit("PRelu", [ctx.name(op.inputs[0]), ctx.name(op.inputs[1])],
             [ctx.names[op.outputs[0]]])  # fmt: skip


def floor_div(ctx: Context, op: Operator) -> None:
    dtype = ctx.tensor(op.inputs[0]).dtype
    a, b = ctx.name(op.inputs[0]), ctx.name(op.inputs[1])
    if dtype in ("int8", "int16", "int32") and ctx.tensor(op.inputs[0]).quantization is None:
        # integer FloorDiv (floor_div.cc): std::floor(double(x) / double(y)), exact for int32
        a, b = ctx.emit("Cast", [a], to=11), ctx.emit("Cast", [b], to=11)
        q = ctx.emit("Floor", [ctx.emit("Div", [a, b])])
        ctx.emit("Cast", [q], [ctx.names[op.outputs[0]]], to=_INT_CODES[dtype])
        return
    _float(ctx, op)  # float FLOOR_DIV is floor(x / y)
    ctx.emit("Floor", [ctx.emit("Div", [a, b])], [ctx.names[op.outputs[0]]])


def floor_mod(ctx: Context, op: Operator) -> None:
    # floor_mod.cc: m = fmod(x, y) (C's % for integers); m + y when m != 0 and y, m differ in sign
    dtype = ctx.tensor(op.inputs[0]).dtype
    if dtype not in ("float32", "int8", "int16", "int32", "int64"):
        raise Unsupported(f"{dtype} tensors")
    if ctx.tensor(op.inputs[0]).quantization is not None and dtype != "float32":
        raise Unsupported(f"quantized {dtype} tensors")
    a, b = ctx.name(op.inputs[0]), ctx.name(op.inputs[1])
    m = ctx.emit("Mod", [a, b], fmod=1)
    zero = ctx.add_const("zero", np.zeros((), dtype))
    signs = ctx.emit("Xor", [ctx.emit("Less", [b, zero]), ctx.emit("Less", [m, zero])])
    fix = ctx.emit("And", [ctx.emit("Not", [ctx.emit("Equal", [m, zero])]), signs])
    ctx.emit("Where", [fix, ctx.emit("Add", [m, b]), m], [ctx.names[op.outputs[0]]])


_INT_CODES = {"int8": 3, "int16": 5, "int32": 6}


CONVERTERS: dict[str, Converter] = {
    "ADD": _binary("Add"),
    "SUB": _binary("Sub"),
    "MUL": _binary("Mul"),
    "DIV": _binary("Div"),
    "MAXIMUM": _binary("Max", fused=False),
    "MINIMUM": _binary("Min", fused=False),
    "SQUARED_DIFFERENCE": squared_difference,
    "POW": _binary("Pow", fused=False),
    "FLOOR_DIV": floor_div,
    "FLOOR_MOD": floor_mod,
    "FLOOR": _unary("Floor"),
    "CEIL": _unary("Ceil"),
    "ROUND": _unary("Round"),  # half to even, as TFLite's RoundToNearest
    "SIN": _unary("Sin"),
    "COS": _unary("Cos"),
    "SIGN": _unary("Sign"),
    "ABS": _unary("Abs"),
    "NEG": _unary("Neg"),
    "EXP": _unary("Exp"),
    "LOG": _unary("Log"),
    "SQRT": _unary("Sqrt"),
    "RSQRT": rsqrt,
    "SQUARE": square,
    "TANH": _unary("Tanh"),
    "LOGISTIC": _unary("Sigmoid"),
    "RELU": _unary("Relu"),
    "RELU6": _clamp(0.0, 6.0),
    "RELU_N1_TO_1": _clamp(-1.0, 1.0),
    "LEAKY_RELU": leaky_relu,
    "PRELU": prelu,
    "HARD_SWISH": _unary("HardSwish"),
    "ELU": _unary("Elu", alpha=1.0),
}
