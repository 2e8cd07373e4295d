"""Element-wise TFLite ops (float32): binary arithmetic with fused activations and numpy
broadcasting (as ONNX's), min/max, unary math and activations."""

from __future__ import annotations

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
    _float(ctx, op)  # float FLOOR_DIV is floor(x / y)
    q = ctx.emit("Div", [ctx.name(op.inputs[0]), ctx.name(op.inputs[1])])
    ctx.emit("Floor", [q], [ctx.names[op.outputs[0]]])


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
