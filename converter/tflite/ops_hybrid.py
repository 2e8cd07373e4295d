"""Hybrid (dynamic-range quantised) TFLite operators: float activations, constant int8 weights ->
tflite::HybridFullyConnected / HybridConv2D / HybridDepthwiseConv2D / HybridBatchMatMul, which
quantise the input per batch at run time as LiteRT does (see docs/tflite-import.md)."""

from __future__ import annotations

import numpy as np

from .context import ACTIVATIONS, Context, Converter, Unsupported
from .ops_quantized_base import emit_tfl, outputs_of, padding_mode, quant_of
from .reader import Operator


def _hybrid_activation(op: Operator) -> str:
    """Hybrid kernels apply every fused activation in float; TANH / SIGN_BIT are refused (LiteRT
    computes them with its own approximations)."""
    code = int(op.options.get("fused_activation_function", 0))
    kind = ACTIVATIONS.get(code)
    if kind not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise Unsupported(f"a hybrid {op.opcode} with fused activation {kind or code}")
    return str(kind)


def _hybrid_weights(ctx: Context, op: Operator, w: int, channels: int) -> list[str]:
    """[w, w_scale] of an int8 symmetric constant filter (one scale, or one per channel)."""
    ctx.const(w, "filter")
    if ctx.tensor(w).dtype != "int8":
        raise Unsupported(f"a hybrid {op.opcode} with {ctx.tensor(w).dtype} weights")
    q = quant_of(ctx, w)
    if np.any(np.asarray(q.zero_points) != 0):
        raise Unsupported(f"a hybrid {op.opcode} with asymmetric (zero point != 0) weights")
    scales = np.asarray(q.scales, np.float32)
    if len(scales) not in (1, channels):
        raise Unsupported(f"{len(scales)} filter scales for {channels} output channels")
    return [ctx.name(w), ctx.add_const("scale", scales if len(scales) > 1 else scales[0])]


def _float_bias(ctx: Context, op: Operator, index: int) -> list[str]:
    if len(op.inputs) <= index or op.inputs[index] < 0:
        return []
    if ctx.tensor(op.inputs[index]).dtype != "float32":
        raise Unsupported(f"a hybrid {op.opcode} with a {ctx.tensor(op.inputs[index]).dtype} bias")
    return [ctx.name(op.inputs[index])]


def hybrid(plain: Converter) -> Converter:
    """CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED of a float input with int8 weights:
    tflite::HybridConv2D / HybridDepthwiseConv2D / HybridFullyConnected (the input is quantised
    per batch at run time, as LiteRT does); integer inputs go to `plain`."""

    def convert(ctx: Context, op: Operator) -> None:
        x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
        if ctx.tensor(x).dtype != "float32":
            plain(ctx, op)
            return
        if ctx.tensor(y).dtype != "float32":
            raise Unsupported(f"a hybrid {op.opcode} with a {ctx.tensor(y).dtype} output")
        act, o = _hybrid_activation(op), op.options
        if op.opcode == "FULLY_CONNECTED":
            _hybrid_fully_connected(ctx, op, act)
            return
        depthwise = op.opcode == "DEPTHWISE_CONV_2D"
        channels = ctx.tensor(w).shape[3 if depthwise else 0]
        weights = _hybrid_weights(ctx, op, w, channels)
        groups = ctx.tensor(x).shape[3] // max(ctx.tensor(w).shape[3], 1)
        scales = len(quant_of(ctx, w).scales)
        if scales == 1 and (depthwise or groups != 1):
            raise Unsupported(f"a {'grouped ' if not depthwise else ''}hybrid {op.opcode} "
                              "with one filter scale (LiteRT needs one per channel)")  # fmt: skip
        if depthwise:
            m = int(o.get("depth_multiplier", 0))
            c, cm = ctx.tensor(x).shape[3], ctx.tensor(w).shape[3]
            if m and c * m != cm:
                raise Unsupported(f"depth_multiplier {m} for {c} channels and {cm} filters")
        attrs = {
            "strides": [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))],
            "dilations": [int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))],
            "padding": padding_mode(op),
            "activation": act,
        }
        op_type = "HybridDepthwiseConv2D" if depthwise else "HybridConv2D"
        inputs = [ctx.name(x), *weights, *_float_bias(ctx, op, 2)]
        emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op), **attrs)

    return convert


def _hybrid_fully_connected(ctx: Context, op: Operator, act: str) -> None:
    x, w, y = op.inputs[0], op.inputs[1], op.outputs[0]
    if int(op.options.get("weights_format", 0)) != 0:
        raise Unsupported("shuffled weights format")
    if ctx.tensor(w).sparse:
        raise Unsupported("a hybrid FULLY_CONNECTED with sparse weights")
    inputs = [ctx.name(x), *_hybrid_weights(ctx, op, w, ctx.tensor(w).shape[0])]
    inputs += _float_bias(ctx, op, 2)
    attrs = {
        "activation": act,
        "asymmetric_quantize_inputs": int(bool(op.options.get("asymmetric_quantize_inputs"))),
    }
    out = ctx.tensor(y)
    if len(out.shape) == 2:
        emit_tfl(ctx, "HybridFullyConnected", inputs, outputs_of(ctx, op), **attrs)
        return
    flat = emit_tfl(ctx, "HybridFullyConnected", inputs, None, **attrs)
    target = list(out.shape_signature if out.shape_signature is not None else out.shape)
    if target.count(-1) > 1:
        raise Unsupported("keep_num_dims with several dynamic dims")
    ctx.emit("Reshape", [flat, ctx.int64s(target)], outputs_of(ctx, op))


def hybrid_batch_matmul(ctx: Context, op: Operator) -> None:
    a, b = op.inputs[0], op.inputs[1]
    ctx.const(b, "rhs")
    adj = {k: int(bool(op.options.get(k, False))) for k in ("adj_x", "adj_y")}
    rank = len(ctx.tensor(b).shape)
    q = quant_of(ctx, b)
    if np.any(np.asarray(q.zero_points) != 0):
        raise Unsupported("a hybrid BATCH_MATMUL with asymmetric (zero point != 0) weights")
    n_axis = rank - 2 if adj["adj_y"] else rank - 1
    if len(q.scales) > 1 and int(q.quantized_dimension) != n_axis:
        raise Unsupported(f"per-channel rhs scales along axis {q.quantized_dimension}, not the "
                          f"output columns' axis {n_axis}")  # fmt: skip
    scales = np.asarray(q.scales, np.float32)
    scale = ctx.add_const("scale", scales if len(scales) > 1 else scales[0])
    asym = int(bool(op.options.get("asymmetric_quantize_inputs")))
    emit_tfl(ctx, "HybridBatchMatMul", [ctx.name(a), ctx.name(b), scale], outputs_of(ctx, op),
             asymmetric_quantize_inputs=asym, **adj)  # fmt: skip


_LSTM_ACTIVATIONS = {1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}


def _int8_weight(ctx: Context, op: Operator, k: int, what: str) -> tuple[np.ndarray, float] | None:
    index = op.inputs[k] if k < len(op.inputs) else -1
    if index < 0:
        return None
    value = np.asarray(ctx.const(index, what))
    if ctx.tensor(index).dtype != "int8":
        raise Unsupported(f"a hybrid LSTM with {ctx.tensor(index).dtype} {what}")
    q = quant_of(ctx, index)
    if len(q.scales) != 1 or np.any(np.asarray(q.zero_points) != 0):
        raise Unsupported(f"its {what} are not quantised per tensor, symmetrically")
    return value, float(q.scales[0])


def _float_const(ctx: Context, op: Operator, k: int, what: str) -> np.ndarray | None:
    index = op.inputs[k] if k < len(op.inputs) else -1
    if index < 0:
        return None
    if ctx.tensor(index).dtype != "float32":
        raise Unsupported(f"a hybrid LSTM with a {ctx.tensor(index).dtype} {what}")
    return np.asarray(ctx.const(index, what), np.float32)


def hybrid_sequence_lstm(ctx: Context, op: Operator) -> None:
    """UNIDIRECTIONAL_SEQUENCE_LSTM of a float input with int8 weights (LiteRT's EvalHybrid):
    one tflite::HybridSequenceLSTM node over the time-major input; the state tensors are kept
    across runs as the float importer keeps them (ops_sequence)."""
    from .ops_control import update_variable_tensor
    from .ops_sequence import sequence_input, state_input, to_time_major

    o = op.options
    if o.get("diagonal_recurrent_tensors"):
        raise Unsupported("diagonal recurrent weights are not imported")
    if len(op.inputs) > 20 and any(i >= 0 for i in op.inputs[20:24]):
        raise Unsupported("a hybrid layer-norm LSTM is not imported")
    act = _LSTM_ACTIVATIONS.get(int(o.get("fused_activation_function", 0)))
    if act is None:  # LiteRT's NONE leaves the output scratch unwritten (reads stale values)
        code = o.get("fused_activation_function")
        raise Unsupported(f"a hybrid LSTM with fused activation {code}")
    time_major = bool(o.get("time_major", False))
    x, _, batch = sequence_input(ctx, op, time_major)
    names = ("input", "forget", "cell", "output")
    wx = [_int8_weight(ctx, op, 1 + k, f"input-to-{g} weights") for k, g in enumerate(names)]
    wh = [_int8_weight(ctx, op, 5 + k, f"recurrent-to-{g} weights") for k, g in enumerate(names)]
    bias = [_float_const(ctx, op, 12 + k, f"{g} gate bias") for k, g in enumerate(names)]
    peep = [_int8_weight(ctx, op, 9 + k, f"cell-to-{g} weights")
            for k, g in enumerate(("input", "forget", "output"))]  # fmt: skip
    cifg = wx[0] is None
    keep = slice(1, 4) if cifg else slice(0, 4)
    if any(v is None for v in wx[keep] + wh[keep] + bias[keep]):
        raise Unsupported("it lacks gate weights or biases")
    n_cell, n_input = wx[1][0].shape  # type: ignore[index]
    projection = _int8_weight(ctx, op, 16, "projection weights")
    n_output = projection[0].shape[0] if projection is not None else n_cell
    stacked = {
        "wx": np.stack([v[0] for v in wx[keep]]),  # type: ignore[index]
        "wx_scale": np.array([v[1] for v in wx[keep]], np.float32),  # type: ignore[index]
        "wh": np.stack([v[0] for v in wh[keep]]),  # type: ignore[index]
        "wh_scale": np.array([v[1] for v in wh[keep]], np.float32),  # type: ignore[index]
        "bias": np.stack(bias[keep]),  # type: ignore[arg-type]
    }
    if stacked["wx"].shape[1:] != (n_cell, n_input) or stacked["wh"].shape[1:] != (
        n_cell, n_output
    ):  # fmt: skip
        raise Unsupported("its gate weights have inconsistent shapes")
    inputs = [to_time_major(ctx, x, time_major),
              state_input(ctx, op, 18, (batch, n_output), "output state"),
              state_input(ctx, op, 19, (batch, n_cell), "cell state")]  # fmt: skip
    inputs += [ctx.add_const(f"lstm_{k}", v) for k, v in stacked.items()]
    present = [p for p in peep[1 if cifg else 0 :] if p is not None]
    if present and len(present) != (2 if cifg else 3):
        raise Unsupported("it has peephole weights for some gates only")
    inputs += [ctx.add_const("lstm_peephole", np.stack([p[0] for p in present])),
               ctx.add_const("lstm_peephole_scale", np.array([p[1] for p in present], np.float32))
               ] if present else ["", ""]  # fmt: skip
    if projection is not None:
        inputs += [ctx.add_const("lstm_proj", projection[0]),
                   ctx.add_const("lstm_proj_scale", np.float32(projection[1]))]  # fmt: skip
        proj_bias = _float_const(ctx, op, 17, "projection bias")
        inputs += [ctx.add_const("lstm_proj_bias", proj_bias)] if proj_bias is not None else []
    attrs = {
        "activation": act,
        "cell_clip": float(o.get("cell_clip", 0.0)),
        "proj_clip": float(o.get("proj_clip", 0.0)),
        "asymmetric_quantize_inputs": int(bool(o.get("asymmetric_quantize_inputs"))),
    }
    y = ctx.fresh("hybrid_lstm_y") if not time_major else ctx.names[op.outputs[0]]
    h, c = ctx.fresh("hybrid_lstm_h"), ctx.fresh("hybrid_lstm_c")
    emit_tfl(ctx, "HybridSequenceLSTM", inputs, [y, h, c], **attrs)
    if not time_major:
        ctx.emit("Transpose", [y], [ctx.names[op.outputs[0]]], perm=[1, 0, 2])
    update_variable_tensor(ctx, op.inputs[18], h)
    update_variable_tensor(ctx, op.inputs[19], c)
