"""`tflite::*` reference ops (what the TFLite importer makes of integer operators, and what
qdq.py makes of ONNX's) -> TFLite builtins, one for one: NHWC as they are, weights with the
scales and zero points their node takes, int32 biases at scale x_scale * w_scale[c]."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Node, QuantParams
from .context import ExportContext, Refused
from .flatbuffer import Quant

ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PADDINGS = {"SAME": 0, "VALID": 1}
RELUS = {(0.0, float("inf")): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1",
         (0.0, 1.0): "RELU_0_TO_1"}  # fmt: skip


def version(ctx: ExportContext, name: str, int8: int = 2, int16: int = 3) -> int:
    """The operator version TFLite's converter gives an op by its input type (op_version.cc)."""
    dtype = ctx.dtype(name)
    return int8 if dtype in ("int8", "uint8") else int16 if dtype == "int16" else 1


def activation(node: Node) -> int:
    act = str(node.attrs.get("activation", "NONE"))
    if act not in ACTIVATIONS:
        raise Refused(f"fused activation {act}")
    return ACTIVATIONS[act]


def param(ctx: ExportContext, node: Node, index: int) -> np.ndarray:
    return ctx.const(node.inputs[index], "quantisation parameter").reshape(-1)


def quantised_const(ctx: ExportContext, node: Node, data: int, scale: int, zp: int,
                    axis: int, perm: tuple[int, ...] | None = None) -> int:  # fmt: skip
    """A constant input (weights) with the scales / zero points at inputs `scale` / `zp`."""
    name = node.inputs[data]
    values = ctx.const(name, "weights")
    if perm is not None:
        values, axis = np.transpose(values, perm), list(perm).index(axis)
    s = param(ctx, node, scale).astype(np.float32)
    z = np.broadcast_to(param(ctx, node, zp).astype(np.int64), s.shape)
    return ctx.add_const(values, name, Quant(s, z, axis if s.size > 1 else 0))


def bias(ctx: ExportContext, node: Node, index: int, x_scale: int, w_scale: int,
         channels: int) -> int:  # fmt: skip
    """The int32 (or int64) bias at scale float32(x_s * w_s[c]), zero point 0 (LiteRT checks
    the scale); zeros when the node has none (LiteRT's int8 convolutions want one)."""
    scales = (param(ctx, node, x_scale)[0] * param(ctx, node, w_scale)).astype(np.float32)
    scales = np.broadcast_to(scales, (channels,)) if scales.size == 1 else scales
    name = node.inputs[index] if len(node.inputs) > index and node.inputs[index] else ""
    data = ctx.const(name, "bias") if name else np.zeros(channels, np.int32)
    if data.dtype not in (np.int32, np.int64):
        raise Refused(f"a {data.dtype} bias (TFLite's integer kernels take int32 or int64)")
    quant = Quant(scales, np.zeros(scales.shape, np.int64), 0)
    return ctx.add_const(data.reshape(channels), name or f"{node.name}/bias", quant)


def _conv(code: str, options: str, axis: int) -> object:
    def lower(ctx: ExportContext, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        w = ctx.const(node.inputs[3], "filter")
        channels = int(w.shape[axis])
        a = node.attrs
        strides, dilations = a.get("strides") or [1, 1], a.get("dilations") or [1, 1]
        opts = {
            "padding": PADDINGS[str(a.get("padding", "VALID"))],
            "stride_h": int(strides[0]), "stride_w": int(strides[1]),
            "fused_activation_function": activation(node),
            "dilation_h_factor": int(dilations[0]), "dilation_w_factor": int(dilations[1]),
        }  # fmt: skip
        if code == "DEPTHWISE_CONV_2D":
            opts["depth_multiplier"] = channels // max(int(ctx.static_shape(x)[3]), 1)
        inputs = [ctx.tensor(x), quantised_const(ctx, node, 3, 4, 5, axis)]
        inputs.append(bias(ctx, node, 8, 1, 4, channels))
        ctx.emit(code, inputs, [ctx.define(y)], (options, opts), version(ctx, x, 3, 4))

    return lower


def fully_connected(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    n = int(ctx.const(node.inputs[3], "weights").shape[0])
    inputs = [ctx.tensor(x), quantised_const(ctx, node, 3, 4, 5, 0), bias(ctx, node, 8, 1, 4, n)]
    opts = {"fused_activation_function": activation(node)}
    ctx.emit("FULLY_CONNECTED", inputs, [ctx.define(y)], ("FullyConnectedOptions", opts),
             version(ctx, x, 4, 7))  # fmt: skip


def transpose_conv(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    channels = int(ctx.const(node.inputs[3], "filter").shape[0])
    a = node.attrs
    strides = a.get("strides") or [1, 1]
    opts = {
        "padding": PADDINGS[str(a.get("padding", "VALID"))],
        "stride_h": int(strides[0]), "stride_w": int(strides[1]),
        "fused_activation_function": activation(node),
    }  # fmt: skip
    shape = ctx.int32s(a["output_shape"], "output_shape")
    w = quantised_const(ctx, node, 3, 4, 5, 0)
    inputs = [shape, w, ctx.tensor(x), bias(ctx, node, 8, 1, 4, channels)]
    ctx.emit("TRANSPOSE_CONV", inputs, [ctx.define(y)], ("TransposeConvOptions", opts), 3)


def _binary(code: str, options: str) -> object:
    def lower(ctx: ExportContext, node: Node) -> None:
        a, b = node.inputs[0], node.inputs[3]
        opts = {"fused_activation_function": activation(node)}
        inputs = [ctx.tensor(a), ctx.tensor(b)]
        ctx.emit(code, inputs, [ctx.define(node.outputs[0])], (options, opts), version(ctx, a))

    return lower


def batch_matmul(ctx: ExportContext, node: Node) -> None:
    a, b = node.inputs[0], node.inputs[3]
    opts = {k: bool(node.attrs.get(k, 0)) for k in ("adj_x", "adj_y")}
    inputs = [ctx.tensor(a), ctx.tensor(b)]
    ctx.emit("BATCH_MATMUL", inputs, [ctx.define(node.outputs[0])],
             ("BatchMatMulOptions", opts), version(ctx, a))  # fmt: skip


def _pool(code: str) -> object:
    def lower(ctx: ExportContext, node: Node) -> None:
        a = node.attrs
        kernel, strides = a["kernel_shape"], a.get("strides") or [1, 1]
        opts = {
            "padding": PADDINGS[str(a.get("padding", "VALID"))],
            "stride_h": int(strides[0]), "stride_w": int(strides[1]),
            "filter_height": int(kernel[0]), "filter_width": int(kernel[1]),
            "fused_activation_function": activation(node),
        }  # fmt: skip
        x = node.inputs[0]
        ctx.emit(code, [ctx.tensor(x)], [ctx.define(node.outputs[0])], ("Pool2DOptions", opts),
                 version(ctx, x))  # fmt: skip

    return lower


def _unary(code: str, options: str | None = None, int8: int = 2, **fields: str) -> object:
    """An op of one data input; `fields` maps option fields to the node's attributes."""

    def lower(ctx: ExportContext, node: Node) -> None:
        x = node.inputs[0]
        opts = (options, {f: node.attrs[k] for f, k in fields.items()}) if options else None
        v = version(ctx, x, int8)
        ctx.emit(code, [ctx.tensor(x)], [ctx.define(node.outputs[0])], opts, v)

    return lower


def relu(ctx: ExportContext, node: Node) -> None:
    bounds = (float(node.attrs.get("low", 0.0)), float(node.attrs.get("high", float("inf"))))
    if bounds not in RELUS:
        raise Refused(f"no TFLite RELU clamps to {bounds}")
    x = node.inputs[0]
    ctx.emit(RELUS[bounds], [ctx.tensor(x)], [ctx.define(node.outputs[0])], None, version(ctx, x))


def prelu(ctx: ExportContext, node: Node) -> None:
    x, alpha = node.inputs[0], node.inputs[3]
    inputs = [ctx.tensor(x), ctx.tensor(alpha)]
    ctx.emit("PRELU", inputs, [ctx.define(node.outputs[0])])


def reduce(code: str) -> object:
    def lower(ctx: ExportContext, node: Node) -> None:
        x = node.inputs[0]
        axes = ctx.int32s(list(node.attrs.get("axes") or []), "axes")
        opts = ("ReducerOptions", {"keep_dims": bool(node.attrs.get("keepdims", 0))})
        ctx.emit(code, [ctx.tensor(x), axes], [ctx.define(node.outputs[0])], opts, version(ctx, x))

    return lower


def softmax(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if y not in ctx.quant:  # the kernel's fixed output params
        low = int(np.iinfo(ctx.dtype(y)).min)
        ctx.quant[y] = QuantParams(np.array(1 / 256, np.float32), np.array(low, np.int64))
    opts = ("SoftmaxOptions", {"beta": float(node.attrs.get("beta", 1.0))})
    ctx.emit("SOFTMAX", [ctx.tensor(x)], [ctx.define(y)], opts, version(ctx, x))


def log_softmax(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if y not in ctx.quant:  # the kernel's fixed output params: (16 / 256, type max)
        high = int(np.iinfo(ctx.dtype(y)).max)
        ctx.quant[y] = QuantParams(np.array(16 / 256, np.float32), np.array(high, np.int64))
    ctx.emit("LOG_SOFTMAX", [ctx.tensor(x)], [ctx.define(y)], None, version(ctx, x))


def quantize(ctx: ExportContext, node: Node) -> None:
    x = node.inputs[0]
    ctx.emit("QUANTIZE", [ctx.tensor(x)], [ctx.define(node.outputs[0])], None, 2)


def dequantize(ctx: ExportContext, node: Node) -> None:
    x = node.inputs[0]
    ctx.emit("DEQUANTIZE", [ctx.tensor(x)], [ctx.define(node.outputs[0])], None, 2)


def resize_bilinear(ctx: ExportContext, node: Node) -> None:
    x = node.inputs[0]
    size = ctx.int32s(node.attrs["size"], "size")
    opts = {k: bool(node.attrs.get(k, 0)) for k in ("align_corners", "half_pixel_centers")}
    ctx.emit("RESIZE_BILINEAR", [ctx.tensor(x), size], [ctx.define(node.outputs[0])],
             ("ResizeBilinearOptions", opts), version(ctx, x))  # fmt: skip


LOWERINGS = {
    ("tflite", "Conv2D"): _conv("CONV_2D", "Conv2DOptions", 0),
    ("tflite", "DepthwiseConv2D"): _conv("DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions", 3),
    ("tflite", "FullyConnected"): fully_connected,
    ("tflite", "TransposeConv2D"): transpose_conv,
    ("tflite", "BatchMatMul"): batch_matmul,
    ("tflite", "Add"): _binary("ADD", "AddOptions"),
    ("tflite", "Sub"): _binary("SUB", "SubOptions"),
    ("tflite", "Mul"): _binary("MUL", "MulOptions"),
    ("tflite", "AveragePool2D"): _pool("AVERAGE_POOL_2D"),
    ("tflite", "MaxPool2D"): _pool("MAX_POOL_2D"),
    ("tflite", "Logistic"): _unary("LOGISTIC"),
    ("tflite", "Tanh"): _unary("TANH"),
    ("tflite", "HardSwish"): _unary("HARD_SWISH", int8=1),
    ("tflite", "LeakyRelu"): _unary("LEAKY_RELU", "LeakyReluOptions", alpha="alpha"),
    ("tflite", "PRelu"): prelu,
    ("tflite", "Relu"): relu,
    ("tflite", "Mean"): reduce("MEAN"),
    ("tflite", "Sum"): reduce("SUM"),
    ("tflite", "Softmax"): softmax,
    ("tflite", "LogSoftmax"): log_softmax,
    ("tflite", "Quantize"): quantize,
    ("tflite", "Requantize"): quantize,
    ("tflite", "Dequantize"): dequantize,
    ("tflite", "ResizeBilinear"): resize_bilinear,
}
