"""Quantised data movement: operators that move (or compare) integers reuse the float converters'
ONNX ops, exact on integers. Where LiteRT's kernel copies the raw integers whatever the params
(RAW_COPY) so does the importer; where its prepare insists on equal params, the importer refuses
others. CONCATENATION rescales differently quantised uint8 inputs first, PAD pads with the
output's zero point."""

from __future__ import annotations

import numpy as np

from . import ops_array, ops_misc, ops_shape, ops_unique_bucketize
from .context import Context, Converter, Unsupported
from .ops_quantized_base import emit_tfl, outputs_of, qparams, quant_of, require_same_params
from .reader import Operator


def _moving(plain: Converter) -> Converter:
    """A float converter reused on integers: exact when every data tensor shares its params."""

    def convert(ctx: Context, op: Operator) -> None:
        if op.opcode not in RAW_COPY:
            try:
                require_same_params(ctx, op.inputs + op.outputs)
            except Unsupported as err:  # LiteRT's prepare refuses these
                raise Unsupported(f"{err} (LiteRT refuses it for {op.opcode})") from None
        plain(ctx, op)

    return convert


# ops whose LiteRT kernels move (or compare) the raw integers whatever the input and output
# params are (the output then means its own params; checked against the reference kernels)
RAW_COPY = frozenset(
    "RESHAPE SQUEEZE TRANSPOSE SLICE STRIDED_SLICE GATHER GATHER_ND REVERSE_V2 TILE BROADCAST_TO "
    "DEPTH_TO_SPACE SPACE_TO_DEPTH SPLIT SPLIT_V MAXIMUM MINIMUM RESIZE_NEAREST_NEIGHBOR "
    "SELECT_V2 ARG_MAX ARG_MIN PAD UNIQUE".split()
)


def _extreme(op_type: str) -> Converter:
    """MAXIMUM / MINIMUM: TFLite's kernels compare the raw values (exact with shared params)."""

    def convert(ctx: Context, op: Operator) -> None:
        ctx.emit(op_type, [ctx.name(i) for i in op.inputs[:2]], outputs_of(ctx, op))

    return convert


def concatenation(ctx: Context, op: Operator) -> None:
    """Equal params: a Concat of the integers. uint8 inputs of other params are first rescaled
    to the output's (tflite::ConcatenationRescale); LiteRT refuses that for int8 and int16."""
    if int(op.options.get("fused_activation_function", 0)) != 0:
        raise Unsupported("a fused activation on CONCATENATION")
    y = op.outputs[0]
    if ctx.tensor(y).dtype != "uint8":
        require_same_params(ctx, op.inputs + op.outputs)
    inputs = []
    for i in op.inputs:
        try:
            require_same_params(ctx, [i, y])
            inputs.append(ctx.name(i))
        except Unsupported:
            rescale = [ctx.name(i), *qparams(ctx, i), *qparams(ctx, y)]
            inputs.append(emit_tfl(ctx, "ConcatenationRescale", rescale, None))
    ctx.emit("Concat", inputs, outputs_of(ctx, op), axis=int(op.options.get("axis", 0)))


def pad(ctx: Context, op: Operator) -> None:
    """PAD / PADV2 of a quantised tensor: the padding is the output's zero point (PADV2: its
    constant_values operand, already quantised)."""
    x = op.inputs[0]
    if op.opcode == "PADV2":  # (PAD moves the raw integers whatever the params, as LiteRT)
        require_same_params(ctx, [x, op.outputs[0]])
    pads = np.asarray(ctx.const(op.inputs[1], "paddings"))
    rank = len(ctx.tensor(x).shape)
    if pads.shape != (rank, 2):
        raise Unsupported(f"paddings of shape {pads.shape} for a rank-{rank} input")
    dtype = np.dtype(ctx.tensor(x).dtype)
    if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = ctx.name(op.inputs[2])
    else:
        zp = int(np.asarray(quant_of(ctx, op.outputs[0]).zero_points).reshape(-1)[0])
        value = ctx.add_const("pad_value", np.array(zp, dtype))
    inputs = [ctx.name(x), ctx.int64s([*pads[:, 0], *pads[:, 1]]), value]
    ctx.emit("Pad", inputs, outputs_of(ctx, op), mode="constant")


# ops_misc converters that only move (or compare) values, exact on integers of shared params
_MOVING_MISC = (
    "SPLIT SPLIT_V SLICE STRIDED_SLICE GATHER PACK UNPACK TILE BROADCAST_TO DEPTH_TO_SPACE "
    "SPACE_TO_DEPTH MIRROR_PAD RESIZE_NEAREST_NEIGHBOR ARG_MAX ARG_MIN SELECT_V2"
).split()
_MOVING_ARRAY = ("GATHER_ND", "REVERSE_V2", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")
_MOVING_SHAPE = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "REDUCE_MAX", "REDUCE_MIN")

CONVERTERS: dict[str, Converter] = {
    "CONCATENATION": concatenation,
    "PAD": pad,
    "PADV2": pad,
    "MAXIMUM": _moving(_extreme("Max")),
    "MINIMUM": _moving(_extreme("Min")),
    **{name: _moving(ops_shape.CONVERTERS[name]) for name in _MOVING_SHAPE},
    **{name: _moving(ops_misc.CONVERTERS[name]) for name in _MOVING_MISC},
    **{name: _moving(ops_array.CONVERTERS[name]) for name in _MOVING_ARRAY},
    "UNIQUE": _moving(ops_unique_bucketize.CONVERTERS["UNIQUE"]),
}
