"""Quantised arithmetic: TFLite integer operators -> `tflite::*` reference ops (NHWC, TFLite's
filter layouts), each with its tensors' scales and zero points as constant inputs. See
ops_quantized.py for the routing and docs/tflite-import.md for the semantics."""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported
from .ops_quantized_base import (
    INTEGER,
    check_16x8,
    emit_tfl,
    fused_activation,
    outputs_of,
    padding_mode,
    qparams,
    quant_of,
    refuse_hybrid,
    require_same_params,
)
from .reader import Operator


def _conv(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        x, w = op.inputs[0], op.inputs[1]
        dtype = ctx.tensor(x).dtype
        ctx.const(w, "filter")
        refuse_hybrid(ctx, x)
        if ctx.tensor(op.outputs[0]).dtype != dtype:
            raise Unsupported(f"{dtype} -> {ctx.tensor(op.outputs[0]).dtype} convolutions")
        check_16x8(ctx, op)
        if dtype == "int8" and np.any(np.asarray(quant_of(ctx, w).zero_points) != 0):
            raise Unsupported("an int8 filter with non-zero zero points (TFLite ignores them)")
        o = op.options
        attrs = {
            "strides": [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))],
            "dilations": [int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))],
            "padding": padding_mode(op),
            "activation": fused_activation(op),
        }
        if op.opcode == "DEPTHWISE_CONV_2D":
            m = int(o.get("depth_multiplier", 0))
            c, cm = ctx.tensor(x).shape[3], ctx.tensor(w).shape[3]
            if m and c * m != cm:
                raise Unsupported(f"depth_multiplier {m} for {c} channels and {cm} filters")
        axis = 3 if op.opcode == "DEPTHWISE_CONV_2D" else 0
        inputs = [ctx.name(x), *qparams(ctx, x), ctx.name(w), *qparams(ctx, w, channel_axis=axis)]
        inputs += qparams(ctx, op.outputs[0])
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            inputs.append(ctx.name(op.inputs[2]))
        emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op), **attrs)

    return convert


def transpose_conv(ctx: Context, op: Operator) -> None:
    """TRANSPOSE_CONV(output_shape, weights [O, KH, KW, I], x[, bias])."""
    shape_index, w, x = op.inputs[0], op.inputs[1], op.inputs[2]
    out_shape = [int(d) for d in np.asarray(ctx.const(shape_index, "output_shape")).reshape(-1)]
    ctx.const(w, "filter")
    refuse_hybrid(ctx, x)
    dtype = ctx.tensor(x).dtype
    if dtype not in ("int8", "uint8") or ctx.tensor(op.outputs[0]).dtype != dtype:
        raise Unsupported(f"{dtype} -> {ctx.tensor(op.outputs[0]).dtype} TRANSPOSE_CONV")
    if dtype == "int8" and np.any(np.asarray(quant_of(ctx, w).zero_points) != 0):
        raise Unsupported("an int8 filter with non-zero zero points (TFLite ignores them)")
    o = op.options
    attrs = {
        "output_shape": out_shape,
        "strides": [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))],
        "padding": padding_mode(op),
        "activation": fused_activation(op),
    }
    inputs = [ctx.name(x), *qparams(ctx, x), ctx.name(w), *qparams(ctx, w, channel_axis=0)]
    inputs += qparams(ctx, op.outputs[0])
    if len(op.inputs) > 3 and op.inputs[3] >= 0:
        inputs.append(ctx.name(op.inputs[3]))
    emit_tfl(ctx, "TransposeConv2D", inputs, outputs_of(ctx, op), **attrs)


def fully_connected(ctx: Context, op: Operator) -> None:
    x, w = op.inputs[0], op.inputs[1]
    if int(op.options.get("weights_format", 0)) != 0:
        raise Unsupported("shuffled weights format")
    ctx.const(w, "weights")
    refuse_hybrid(ctx, x)
    dtype = ctx.tensor(x).dtype
    if ctx.tensor(op.outputs[0]).dtype != dtype:
        raise Unsupported(f"{dtype} -> {ctx.tensor(op.outputs[0]).dtype} FULLY_CONNECTED")
    check_16x8(ctx, op)
    inputs = [ctx.name(x), *qparams(ctx, x), ctx.name(w), *qparams(ctx, w, channel_axis=0)]
    inputs += qparams(ctx, op.outputs[0])
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(ctx.name(op.inputs[2]))
    out = ctx.tensor(op.outputs[0])
    act = fused_activation(op)
    if len(out.shape) == 2:
        emit_tfl(ctx, "FullyConnected", inputs, outputs_of(ctx, op), activation=act)
        return
    y = emit_tfl(ctx, "FullyConnected", inputs, None, activation=act)
    target = list(out.shape_signature if out.shape_signature is not None else out.shape)
    if target.count(-1) > 1:
        raise Unsupported("keep_num_dims with several dynamic dims")
    ctx.emit("Reshape", [y, ctx.int64s(target)], outputs_of(ctx, op))


def _binary(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        a, b = op.inputs[0], op.inputs[1]
        dtype = ctx.tensor(a).dtype
        if dtype not in ("int8", "uint8") or ctx.tensor(b).dtype != dtype:
            raise Unsupported(f"{dtype} x {ctx.tensor(b).dtype} {op.opcode}")
        inputs = [ctx.name(a), *qparams(ctx, a), ctx.name(b), *qparams(ctx, b)]
        inputs += qparams(ctx, op.outputs[0])
        emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op), activation=fused_activation(op))

    return convert


def batch_matmul(ctx: Context, op: Operator) -> None:
    a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
    if not (ctx.tensor(a).dtype == ctx.tensor(b).dtype == ctx.tensor(y).dtype == "int8"):
        dtypes = [ctx.tensor(i).dtype for i in (a, b, y)]
        raise Unsupported(f"a {' x '.join(dtypes[:2])} -> {dtypes[2]} BATCH_MATMUL")
    inputs = [ctx.name(a), *qparams(ctx, a), ctx.name(b), *qparams(ctx, b), *qparams(ctx, y)]
    adj = {k: int(bool(op.options.get(k, False))) for k in ("adj_x", "adj_y")}
    emit_tfl(ctx, "BatchMatMul", inputs, outputs_of(ctx, op), **adj)


def _pool(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        x = op.inputs[0]
        require_same_params(ctx, [x, op.outputs[0]])
        o = op.options
        attrs = {
            "kernel_shape": [int(o.get("filter_height", 1)), int(o.get("filter_width", 1))],
            "strides": [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))],
            "padding": padding_mode(op),
            "activation": fused_activation(op),
        }
        inputs = [ctx.name(x), *qparams(ctx, op.outputs[0])]
        emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op), **attrs)

    return convert


def _lut(op_type: str) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        x = op.inputs[0]
        if ctx.tensor(x).dtype not in ("int8", "uint8"):
            raise Unsupported(f"{ctx.tensor(x).dtype} {op.opcode}")
        inputs = [ctx.name(x), *qparams(ctx, x), *qparams(ctx, op.outputs[0])]
        emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op))

    return convert


_RELU_RANGES = {
    "RELU": (0.0, float("inf")),
    "RELU6": (0.0, 6.0),
    "RELU_N1_TO_1": (-1.0, 1.0),
    "RELU_0_TO_1": (0.0, 1.0),
}


def relu(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    low, high = _RELU_RANGES[op.opcode]
    inputs = [ctx.name(x), *qparams(ctx, x), *qparams(ctx, op.outputs[0])]
    emit_tfl(ctx, "Relu", inputs, outputs_of(ctx, op), low=low, high=high)


def leaky_relu(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    inputs = [ctx.name(x), *qparams(ctx, x), *qparams(ctx, op.outputs[0])]
    alpha = float(op.options.get("alpha", 0.2))
    emit_tfl(ctx, "LeakyRelu", inputs, outputs_of(ctx, op), alpha=alpha)


def prelu(ctx: Context, op: Operator) -> None:
    x, alpha = op.inputs[0], op.inputs[1]
    if ctx.tensor(alpha).dtype != ctx.tensor(x).dtype:
        raise Unsupported(f"a {ctx.tensor(alpha).dtype} alpha for {ctx.tensor(x).dtype} PRELU")
    inputs = [ctx.name(x), *qparams(ctx, x), ctx.name(alpha), *qparams(ctx, alpha)]
    inputs += qparams(ctx, op.outputs[0])
    emit_tfl(ctx, "PRelu", inputs, outputs_of(ctx, op))


def quantize(ctx: Context, op: Operator) -> None:
    x, y = op.inputs[0], op.outputs[0]
    to = ctx.tensor(y).dtype
    if to not in INTEGER:
        raise Unsupported(f"QUANTIZE to {to}")
    if ctx.tensor(x).dtype == "float32":
        emit_tfl(ctx, "Quantize", [ctx.name(x), *qparams(ctx, y)], outputs_of(ctx, op), to=to)
    elif ctx.tensor(x).dtype in INTEGER:
        inputs = [ctx.name(x), *qparams(ctx, x), *qparams(ctx, y)]
        emit_tfl(ctx, "Requantize", inputs, outputs_of(ctx, op), to=to)
    else:
        raise Unsupported(f"QUANTIZE of {ctx.tensor(x).dtype}")


def dequantize(ctx: Context, op: Operator) -> None:
    """DEQUANTIZE: of a constant (int8 weights of a float model), folded at import as LiteRT does
    when it prepares the graph: float32(scale[c] * (q - zp[c])) along the quantised dimension,
    the one rounding of tflite::Dequantize; of an activation, a tflite::Dequantize node."""
    x = op.inputs[0]
    if ctx.tensor(op.outputs[0]).dtype != "float32":
        raise Unsupported(f"DEQUANTIZE to {ctx.tensor(op.outputs[0]).dtype}")
    if x in ctx.constants:
        q = quant_of(ctx, x)
        data = np.asarray(ctx.constants[x])
        shape = [1] * data.ndim
        if len(q.scales) > 1:
            shape[int(q.quantized_dimension)] = len(q.scales)
        scale = np.asarray(q.scales, np.float64).reshape(shape)
        zp = np.broadcast_to(np.asarray(q.zero_points, np.int64), (len(q.scales),)).reshape(shape)
        ctx.constants[op.outputs[0]] = (scale * (data.astype(np.int64) - zp)).astype(np.float32)
        return
    inputs = [ctx.name(x), *qparams(ctx, x)]
    emit_tfl(ctx, "Dequantize", inputs, outputs_of(ctx, op))


def softmax(ctx: Context, op: Operator) -> None:
    x, y = op.inputs[0], op.outputs[0]
    dtype = ctx.tensor(x).dtype
    if dtype not in ("int8", "uint8") or ctx.tensor(y).dtype != dtype:
        raise Unsupported(f"{dtype} -> {ctx.tensor(y).dtype} SOFTMAX")
    q = quant_of(ctx, y)  # the kernel writes probabilities at scale 1/256, zero point = type min
    low = int(np.iinfo(dtype).min)
    if abs(float(q.scales[0]) - 1 / 256) > 0.001 / 256 or int(q.zero_points[0]) != low:
        raise Unsupported(f"a SOFTMAX output quantised other than (1/256, {low})")
    inputs = [ctx.name(x), qparams(ctx, x)[0]]
    emit_tfl(ctx, "Softmax", inputs, outputs_of(ctx, op), beta=float(op.options.get("beta", 1.0)))


def mean(ctx: Context, op: Operator) -> None:
    """MEAN / SUM of a quantised tensor (tflite::Mean / tflite::Sum)."""
    x = op.inputs[0]
    axes = [int(a) for a in np.asarray(ctx.const(op.inputs[1], "axes")).reshape(-1)]
    inputs = [ctx.name(x), *qparams(ctx, x), *qparams(ctx, op.outputs[0])]
    keep = int(bool(op.options.get("keep_dims", False)))
    op_type = "Mean" if op.opcode == "MEAN" else "Sum"
    emit_tfl(ctx, op_type, inputs, outputs_of(ctx, op), axes=axes, keepdims=keep)


def resize_bilinear(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    if ctx.tensor(x).dtype not in ("int8", "int16"):
        raise Unsupported(f"{ctx.tensor(x).dtype} RESIZE_BILINEAR")
    require_same_params(ctx, [x, op.outputs[0]])
    size = [int(d) for d in np.asarray(ctx.const(op.inputs[1], "size")).reshape(-1)]
    align = int(bool(op.options.get("align_corners", False)))
    half = int(bool(op.options.get("half_pixel_centers", False)))
    attrs = {"size": size, "align_corners": align, "half_pixel_centers": half}
    emit_tfl(ctx, "ResizeBilinear", [ctx.name(x)], outputs_of(ctx, op), **attrs)


CONVERTERS: dict[str, Converter] = {
    "CONV_2D": _conv("Conv2D"),
    "DEPTHWISE_CONV_2D": _conv("DepthwiseConv2D"),
    "FULLY_CONNECTED": fully_connected,
    "TRANSPOSE_CONV": transpose_conv,
    "BATCH_MATMUL": batch_matmul,
    "ADD": _binary("Add"),
    "SUB": _binary("Sub"),
    "MUL": _binary("Mul"),
    "AVERAGE_POOL_2D": _pool("AveragePool2D"),
    "MAX_POOL_2D": _pool("MaxPool2D"),
    "LOGISTIC": _lut("Logistic"),
    "TANH": _lut("Tanh"),
    "HARD_SWISH": _lut("HardSwish"),
    "LEAKY_RELU": leaky_relu,
    "PRELU": prelu,
    "RELU": relu,
    "RELU6": relu,
    "RELU_N1_TO_1": relu,
    "MEAN": mean,
    "SUM": mean,
    "SOFTMAX": softmax,
    "QUANTIZE": quantize,
    "DEQUANTIZE": dequantize,
    "RESIZE_BILINEAR": resize_bilinear,
}
