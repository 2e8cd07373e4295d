"""More quantised TFLite operators -> `tflite::*` reference ops: LOG_SOFTMAX, SQUARED_DIFFERENCE,
the comparisons (both sides rescaled), per-channel and int32 QUANTIZE, int16 ADD / SUB / MUL /
BATCH_MATMUL, uint8 RESIZE_BILINEAR (the hybrid ops: ops_hybrid.py). See ops_quantized.py for
the routing and docs/tflite-import.md for the semantics."""

from __future__ import annotations

import numpy as np

from ...refimpl.ops.tflite_integer import checked_log2
from .context import Context, Converter, Unsupported
from .ops_hybrid import hybrid_batch_matmul
from .ops_quantized_base import (
    INTEGER,
    emit_tfl,
    fused_activation,
    outputs_of,
    qparams,
    quant_of,
    require_same_params,
)
from .reader import Operator


def log_softmax(ctx: Context, op: Operator) -> None:
    """LOG_SOFTMAX: the output must be quantised (16/256, type max), as LiteRT's prepare checks."""
    x, y = op.inputs[0], op.outputs[0]
    dtype = ctx.tensor(x).dtype
    if dtype not in ("int8", "uint8") or ctx.tensor(y).dtype != dtype:
        raise Unsupported(f"{dtype} -> {ctx.tensor(y).dtype} LOG_SOFTMAX")
    q = quant_of(ctx, y)
    high = int(np.iinfo(dtype).max)
    if float(q.scales[0]) != 16 / 256 or int(q.zero_points[0]) != high:
        raise Unsupported(f"a LOG_SOFTMAX output quantised other than (16/256, {high})")
    emit_tfl(ctx, "LogSoftmax", [ctx.name(x), qparams(ctx, x)[0]], outputs_of(ctx, op))


def squared_difference(ctx: Context, op: Operator) -> None:
    """SQUARED_DIFFERENCE: LiteRT's integer kernel is int8 only."""
    a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
    dtypes = [ctx.tensor(i).dtype for i in (a, b, y)]
    if dtypes != ["int8"] * 3:
        raise Unsupported(f"a {' x '.join(dtypes[:2])} -> {dtypes[2]} SQUARED_DIFFERENCE")
    inputs = [ctx.name(a), *qparams(ctx, a), ctx.name(b), *qparams(ctx, b), *qparams(ctx, y)]
    emit_tfl(ctx, "SquaredDifference", inputs, outputs_of(ctx, op))


# TFLite comparison -> (tflite::Compare's comparison, whether the operands swap)
_COMPARISONS = {
    "LESS": ("LESS", False),
    "LESS_EQUAL": ("LESS_EQUAL", False),
    "GREATER": ("LESS", True),
    "GREATER_EQUAL": ("LESS_EQUAL", True),
    "EQUAL": ("EQUAL", False),
    "NOT_EQUAL": ("NOT_EQUAL", False),
}


def comparison(ctx: Context, op: Operator) -> None:
    """Quantised comparisons rescale both sides to a common fixed point (tflite::Compare).
    LiteRT compares int16 LESS / LESS_EQUAL / GREATER / GREATER_EQUAL as raw integers, and so
    does the importer (an ONNX comparison)."""
    a, b = op.inputs[0], op.inputs[1]
    dtype = ctx.tensor(a).dtype
    if ctx.tensor(b).dtype != dtype or dtype not in INTEGER:
        raise Unsupported(f"a {dtype} x {ctx.tensor(b).dtype} {op.opcode}")
    kind, swap = _COMPARISONS[op.opcode]
    if dtype == "int16" and kind.startswith("LESS"):
        onnx = {"LESS": "Less", "LESS_EQUAL": "LessOrEqual"}[kind]
        pair = [ctx.name(b), ctx.name(a)] if swap else [ctx.name(a), ctx.name(b)]
        ctx.emit(onnx, pair, outputs_of(ctx, op))
        return
    for i in (a, b):
        if float(quant_of(ctx, i).scales[0]) >= 1.0:  # the kernel would shift by a negative count
            raise Unsupported(f"a quantised {op.opcode} of a tensor with scale >= 1")
    first, second = (b, a) if swap else (a, b)
    inputs = [ctx.name(first), *qparams(ctx, first), ctx.name(second), *qparams(ctx, second)]
    emit_tfl(ctx, "Compare", inputs, outputs_of(ctx, op), comparison=kind)


def quantize_per_channel(plain: Converter) -> Converter:
    """QUANTIZE to a per-channel tensor (float input): tflite::QuantizePerChannel; int16 -> int32
    and int32 -> int8 / int16: tflite::RequantizeInt32; anything else goes to `plain`."""

    def convert(ctx: Context, op: Operator) -> None:
        x, y = op.inputs[0], op.outputs[0]
        q = ctx.tensor(y).quantization
        if "int32" in (ctx.tensor(x).dtype, ctx.tensor(y).dtype):
            _requantize_int32(ctx, op)
            return
        if q is None or len(q.scales) <= 1:
            plain(ctx, op)
            return
        to = ctx.tensor(y).dtype
        if ctx.tensor(x).dtype != "float32" or to not in INTEGER:
            raise Unsupported(f"a per-channel QUANTIZE of {ctx.tensor(x).dtype} to {to}")
        axis = int(q.quantized_dimension)
        inputs = [ctx.name(x), *qparams(ctx, y, channel_axis=axis)]
        emit_tfl(ctx, "QuantizePerChannel", inputs, outputs_of(ctx, op), axis=axis, to=to)

    return convert


_INT32_QUANTIZE = {("int16", "int32"), ("int32", "int8"), ("int32", "int16")}


def _requantize_int32(ctx: Context, op: Operator) -> None:
    x, y = op.inputs[0], op.outputs[0]
    pair = (ctx.tensor(x).dtype, ctx.tensor(y).dtype)
    if pair not in _INT32_QUANTIZE:
        raise Unsupported(f"a QUANTIZE of {pair[0]} to {pair[1]} (LiteRT has no kernel)")
    inputs = [ctx.name(x), *qparams(ctx, x), *qparams(ctx, y)]
    emit_tfl(ctx, "RequantizeInt32", inputs, outputs_of(ctx, op), to=pair[1])


def int16_arithmetic(plain: Converter) -> Converter:
    """ADD / SUB / MUL of int16 tensors (symmetric: zero points 0, as LiteRT's prepare checks):
    tflite::AddInt16 / SubInt16 (with the op's pot_scale_int16
    option) / Mul; 8-bit ones go to `plain`."""

    def convert(ctx: Context, op: Operator) -> None:
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        dtypes = [ctx.tensor(i).dtype for i in (a, b, y)]
        if "int16" not in dtypes:
            plain(ctx, op)
            return
        if dtypes != ["int16"] * 3:
            raise Unsupported(f"a {' x '.join(dtypes[:2])} -> {dtypes[2]} {op.opcode}")
        pot = int(bool(op.options.get("pot_scale_int16", True)))
        for i in (a, b, y):
            if np.any(np.asarray(quant_of(ctx, i).zero_points) != 0):
                raise Unsupported(f"an int16 {op.opcode} with a non-zero zero point")
        inputs = [ctx.name(a), *qparams(ctx, a), ctx.name(b), *qparams(ctx, b), *qparams(ctx, y)]
        attrs = {"activation": fused_activation(op)}
        if op.opcode == "MUL":
            emit_tfl(ctx, "Mul", inputs, outputs_of(ctx, op), **attrs)
            return
        logs = [checked_log2(np.float32(quant_of(ctx, i).scales[0])) for i in (a, b, y)]
        if pot and None not in logs:  # LiteRT's power-of-two path
            shifts = [logs[0] - logs[2], logs[1] - logs[2]]  # type: ignore[operator]
            if max(shifts) > 0 or (shifts[0] and shifts[1]):
                raise Unsupported(
                    f"power-of-two int16 {op.opcode} scales 2**{logs[:2]} -> "
                    f"2**{logs[2]} (LiteRT rescales one input only, and only down)"
                )
            if op.opcode == "ADD" and ctx.tensor(a).shape != ctx.tensor(b).shape:
                raise Unsupported("a broadcasting power-of-two int16 ADD (LiteRT's kernel aborts)")
        op_type = "AddInt16" if op.opcode == "ADD" else "SubInt16"
        emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op), pot_scale_int16=pot, **attrs)

    return convert


def batch_matmul_int16(plain: Converter) -> Converter:
    """BATCH_MATMUL of an int16 lhs (int16 or int8 rhs, int16 output, zero points 0):
    tflite::BatchMatMulInt16; of a float lhs and a constant int8 rhs (hybrid):
    tflite::HybridBatchMatMul; anything else goes to `plain`."""

    def convert(ctx: Context, op: Operator) -> None:
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        dtypes = [ctx.tensor(i).dtype for i in (a, b, y)]
        if dtypes == ["float32", "int8", "float32"]:
            hybrid_batch_matmul(ctx, op)
            return
        if dtypes[0] != "int16":
            plain(ctx, op)
            return
        if dtypes[1] not in ("int16", "int8") or dtypes[2] != "int16":
            raise Unsupported(f"a {' x '.join(dtypes[:2])} -> {dtypes[2]} BATCH_MATMUL")
        for i in (a, b, y):
            if np.any(np.asarray(quant_of(ctx, i).zero_points) != 0):
                raise Unsupported("an int16 BATCH_MATMUL with a non-zero zero point")
        inputs = [ctx.name(a), *qparams(ctx, a), ctx.name(b), *qparams(ctx, b), *qparams(ctx, y)]
        adj = {k: int(bool(op.options.get(k, False))) for k in ("adj_x", "adj_y")}
        emit_tfl(ctx, "BatchMatMulInt16", inputs, outputs_of(ctx, op), **adj)

    return convert


def resize_bilinear_uint8(plain: Converter) -> Converter:
    """RESIZE_BILINEAR of uint8 (LiteRT's float path, tflite::ResizeBilinearUint8); others go to
    `plain`."""

    def convert(ctx: Context, op: Operator) -> None:
        x = op.inputs[0]
        if ctx.tensor(x).dtype != "uint8":
            plain(ctx, op)
            return
        require_same_params(ctx, [x, op.outputs[0]])
        size = [int(d) for d in np.asarray(ctx.const(op.inputs[1], "size")).reshape(-1)]
        align = int(bool(op.options.get("align_corners", False)))
        half = int(bool(op.options.get("half_pixel_centers", False)))
        attrs = {"size": size, "align_corners": align, "half_pixel_centers": half}
        emit_tfl(ctx, "ResizeBilinearUint8", [ctx.name(x)], outputs_of(ctx, op), **attrs)

    return convert


CONVERTERS: dict[str, Converter] = {
    "LOG_SOFTMAX": log_softmax,
    "SQUARED_DIFFERENCE": squared_difference,
    **{name: comparison for name in _COMPARISONS},
}
