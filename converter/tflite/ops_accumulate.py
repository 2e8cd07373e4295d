"""TFLite builtins that sum along an axis, over inputs or over a window, as ONNX ops.

- ADD_N (add_n.cc): in_0 + in_1 + ... added left to right (a chain of Adds: the same rounding).
- CUMSUM (cumsum.cc): ONNX CumSum with its `exclusive` and `reverse` options; constant axis.
- REDUCE_ANY / REDUCE_ALL (reduce.cc, bool): ReduceMax / ReduceMin over bool, as REDUCE_MAX.
- LOCAL_RESPONSE_NORMALIZATION (NHWC, over the last axis): x * (bias + alpha * sum of x^2 over
  channels c - radius .. c + radius)^-beta; ONNX LRN (NCHW, alpha divided by the window size
  2 * radius + 1) between Transposes.
- L2_POOL_2D (pooling.cc): sqrt(mean of x^2 over the window's valid positions): AveragePool
  (count_include_pad 0, TFLite's padding) of x * x, then Sqrt and the fused activation.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported, arity
from .ops_conv import TO_NCHW, TO_NHWC
from .ops_conv import _geometry as pool_geometry
from .ops_shape import CONVERTERS as SHAPE_CONVERTERS
from .reader import Operator


def _out(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def add_n(ctx: Context, op: Operator) -> None:
    if min(op.inputs) < 0:
        raise Unsupported(f"an input left out ({op.inputs})")
    total = ctx.name(op.inputs[0])
    for k, i in enumerate(op.inputs[1:], start=2):
        last = k == len(op.inputs)
        total = ctx.emit("Add", [total, ctx.name(i)], _out(ctx, op) if last else None)
    if len(op.inputs) == 1:
        ctx.emit("Identity", [total], _out(ctx, op))


def cumsum(ctx: Context, op: Operator) -> None:
    axis = np.asarray(ctx.const(op.inputs[1], "axis")).reshape(-1)
    if axis.size != 1 or axis.dtype.kind not in "iu":
        raise Unsupported(f"its axis {axis.tolist()} is not one integer")
    attrs = {"exclusive": int(bool(op.options.get("exclusive"))),
             "reverse": int(bool(op.options.get("reverse")))}  # fmt: skip
    inputs = [ctx.name(op.inputs[0]), ctx.add_const("axis", np.array(int(axis[0]), np.int64))]
    ctx.emit("CumSum", inputs, _out(ctx, op), **attrs)


def local_response_normalization(ctx: Context, op: Operator) -> None:
    rank = len(ctx.tensor(op.inputs[0]).shape)
    if rank != 4:
        raise Unsupported(f"a rank-{rank} input (LiteRT takes 4-D)")
    o = op.options
    radius = int(o.get("radius", 5))
    size = 2 * radius + 1
    x = ctx.emit("Transpose", [ctx.name(op.inputs[0])], perm=TO_NCHW)
    y = ctx.emit("LRN", [x], size=size, alpha=float(o.get("alpha", 1.0)) * size,
                 beta=float(o.get("beta", 0.5)), bias=float(o.get("bias", 1.0)))  # fmt: skip
    ctx.emit("Transpose", [y], _out(ctx, op), perm=TO_NHWC)


def l2_pool_2d(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    if ctx.tensor(x).dtype != "float32" or len(ctx.tensor(x).shape) != 4:
        raise Unsupported("only a float32 4-D input is imported")
    kernel = (int(op.options.get("filter_height", 1)), int(op.options.get("filter_width", 1)))
    if min(kernel) < 1:
        raise Unsupported(f"filter size {list(kernel)}")
    attrs = {**pool_geometry(ctx, op, x, kernel), "count_include_pad": 0}
    nchw = ctx.emit("Transpose", [ctx.name(x)], perm=TO_NCHW)
    mean = ctx.emit("AveragePool", [ctx.emit("Mul", [nchw, nchw])], **attrs)
    y = ctx.activate(ctx.emit("Sqrt", [mean]), int(op.options.get("fused_activation_function", 0)))
    ctx.emit("Transpose", [y], _out(ctx, op), perm=TO_NHWC)


CONVERTERS: dict[str, Converter] = {
    "L2_POOL_2D": arity(1)(l2_pool_2d),
    "ADD_N": arity(1)(add_n),
    "CUMSUM": arity(2)(cumsum),
    "REDUCE_ANY": arity(2)(SHAPE_CONVERTERS["REDUCE_MAX"]),
    "REDUCE_ALL": arity(2)(SHAPE_CONVERTERS["REDUCE_MIN"]),
    "LOCAL_RESPONSE_NORMALIZATION": arity(1)(local_response_normalization),
}
