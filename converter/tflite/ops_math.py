"""Element-wise TFLite builtins that ops_elementwise.py does not map, as ONNX ops.

- ATAN2 (atan2.cc): ONNX has no Atan2, so atan(y / x), plus pi (y >= 0) or minus pi (y < 0)
  where x < 0, and 0 where x and y are both 0; x == 0 gives atan(+-inf) = +-pi/2. Within a few
  float32 ulps of std::atan2 (the division rounds once); a negative-zero y with a negative x
  gives +pi where std::atan2 gives -pi.
- RELU_0_TO_1: a clamp to [0, 1].
"""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported, arity
from .reader import Operator


def _out(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def atan2(ctx: Context, op: Operator) -> None:
    dtype = ctx.tensor(op.inputs[0]).dtype
    if dtype not in ("float32", "float64"):
        raise Unsupported(f"{dtype} inputs")
    y, x = ctx.name(op.inputs[0]), ctx.name(op.inputs[1])

    def const(value: float) -> str:
        return ctx.add_const("c", np.array(value, dtype))

    angle = ctx.emit("Atan", [ctx.emit("Div", [y, x])])
    zero, pi = const(0.0), const(np.pi)
    turn = ctx.emit("Where", [ctx.emit("GreaterOrEqual", [y, zero]), pi, const(-np.pi)])
    shift = ctx.emit("Where", [ctx.emit("Less", [x, zero]), turn, zero])
    both_zero = ctx.emit("And", [ctx.emit("Equal", [x, zero]), ctx.emit("Equal", [y, zero])])
    ctx.emit("Where", [both_zero, zero, ctx.emit("Add", [angle, shift])], _out(ctx, op))


def relu_0_to_1(ctx: Context, op: Operator) -> None:
    inputs = [ctx.name(op.inputs[0]), ctx.scalar(0.0), ctx.scalar(1.0)]
    ctx.emit("Clip", inputs, _out(ctx, op))


CONVERTERS: dict[str, Converter] = {
    "ATAN2": arity(2)(atan2),
    "RELU_0_TO_1": arity(1)(relu_0_to_1),
}
