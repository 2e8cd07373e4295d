"""Shared helpers of the quantised TFLite converters (ops_quantized*.py): a tensor's
quantisation parameters as constant inputs, the checks every integer kernel makes, and the
`tflite::*` node emitter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import ACTIVATIONS, Context, Unsupported
from .ops_conv import SAME, VALID
from .reader import Operator, Quantization, Subgraph

INTEGER = ("int8", "uint8", "int16")
DOMAIN = "tflite"


def is_quantized(sg: Subgraph, index: int) -> bool:
    t = sg.tensors[index] if index >= 0 else None
    return t is not None and t.quantization is not None and t.dtype in INTEGER


# ---- parameters ----------------------------------------------------------------------------------
def quant_of(ctx: Context, index: int) -> Quantization:
    """A tensor's quantisation parameters; Unsupported when it has none."""
    q = ctx.tensor(index).quantization
    if q is None or not len(q.scales):
        raise Unsupported(f"tensor {ctx.names[index]!r} has no quantisation parameters")
    return q


def qparams(ctx: Context, index: int, channel_axis: int | None = None) -> list[str]:
    """[scale, zero point] constants of a tensor: float32 and int32, scalars per tensor, 1-D per
    channel (only where the op takes per-channel params: along `channel_axis`)."""
    q = quant_of(ctx, index)
    scales = np.asarray(q.scales, np.float32)
    zps = np.asarray(q.zero_points, np.int64)
    if len(scales) > 1 and channel_axis is None:
        raise Unsupported(f"per-channel quantisation of {ctx.names[index]!r}")
    if len(scales) > 1 and int(q.quantized_dimension) != channel_axis:
        raise Unsupported(
            f"per-channel scales of {ctx.names[index]!r} along axis {q.quantized_dimension}, "
            f"not the output channels' axis {channel_axis}"
        )
    if len(zps) not in (1, len(scales)):
        raise Unsupported(f"{len(zps)} zero points for {len(scales)} scales")
    shape = () if len(scales) == 1 else (len(scales),)
    zps = np.broadcast_to(zps, (len(scales),))
    return [
        ctx.add_const("scale", scales.reshape(shape)),
        ctx.add_const("zero_point", zps.astype(np.int32).reshape(shape)),
    ]


def require_same_params(ctx: Context, indices: list[int]) -> None:
    """Data movement is exact only when every data tensor shares one (scale, zero point)."""
    seen = {}
    for i in indices:
        if i >= 0 and is_quantized(ctx.subgraph, i):
            q = ctx.tensor(i).quantization
            seen[(tuple(np.asarray(q.scales, np.float32)), tuple(q.zero_points))] = i
    if len(seen) > 1:
        raise Unsupported("inputs and outputs quantised differently (requantising data movement)")


def fused_activation(op: Operator) -> str:
    code = int(op.options.get("fused_activation_function", 0))
    if code not in ACTIVATIONS:
        raise Unsupported(f"unknown fused activation {code}")
    kind = ACTIVATIONS[code]
    return "NONE" if kind in ("TANH", "SIGN_BIT") else kind  # the kernels do not apply those


def padding_mode(op: Operator) -> str:
    code = int(op.options.get("padding", SAME))
    if code not in (SAME, VALID):
        raise Unsupported(f"padding type {code}")
    return "SAME" if code == SAME else "VALID"


def outputs_of(ctx: Context, op: Operator) -> list[str]:
    return [ctx.names[op.outputs[0]]]


def emit_tfl(ctx: Context, op_type: str, inputs: list[str], outputs: list[str] | None,
             **attrs: Any) -> str:  # fmt: skip
    """A `tflite::<op_type>` node."""
    out = ctx.emit(op_type, inputs, outputs, **attrs)
    ctx.nodes[-1].domain = DOMAIN
    return out


def refuse_hybrid(ctx: Context, x: int) -> None:
    if ctx.tensor(x).dtype == "float32":  # LiteRT quantises the input per batch at run time
        raise Unsupported("hybrid kernels (float input, int8 weights: dynamic-range quantisation)")


def check_16x8(ctx: Context, op: Operator) -> None:
    """int16 activations (16x8): int8 weights, zero points 0, an int64 or int32 bias."""
    x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
    if ctx.tensor(x).dtype != "int16":
        return
    if ctx.tensor(w).dtype != "int8":
        raise Unsupported(f"int16 activations with {ctx.tensor(w).dtype} weights")
    for i in (x, y):
        if np.any(np.asarray(quant_of(ctx, i).zero_points) != 0):
            raise Unsupported("int16 activations with a non-zero zero point")
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    if op.opcode == "DEPTHWISE_CONV_2D" and bias is not None:
        if ctx.tensor(bias).dtype != "int64":  # as LiteRT's prepare checks
            raise Unsupported(f"a 16x8 DEPTHWISE_CONV_2D with a {ctx.tensor(bias).dtype} bias")
