"""ONNX integer ops (QLinearConv, QLinearMatMul, QuantizeLinear, DequantizeLinear and
com.microsoft's QGemm / QLinear*, what qdq.py makes of an int8 graph) -> TFLite int8 builtins on
NHWC tensors. TFLite's int8 kernels take symmetric weights (zero point 0: they ignore it), per
tensor or per output channel, and int32 biases at x_scale * w_scale; ops whose TFLite kernel
needs equal input and output params (AVERAGE_POOL_2D, CONCATENATION) or fixed ones (LOGISTIC)
get a QUANTIZE (requantisation) after or before them. Every integer result is TFLite's
(docs/tflite-export.md says how far that is from the ONNX ops' rounding)."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Node, QuantParams
from .context import NHWC, ExportContext, Refused
from .flatbuffer import Quant
from .ops_float import check_pool_output, geometry, grouped, padded_input
from .ops_moving import requantised
from .ops_tflite import bias, param, quantised_const

FIXED_LOGISTIC = (np.float32(1 / 256), -128)


def _int8(ctx: ExportContext, *names: str) -> None:
    for name in names:
        if ctx.dtype(name) != "int8":
            raise Refused(
                f"{ctx.dtype(name)} {name!r}: TFLite's integer kernels here take int8 activations"
            )


def _symmetric(ctx: ExportContext, node: Node, zp: int, what: str = "weights") -> None:
    if zp < len(node.inputs) and node.inputs[zp] and np.any(param(ctx, node, zp) != 0):
        raise Refused(
            f"asymmetric {what} (zero point != 0): TFLite's int8 kernels take symmetric weights; "
            "quantise with symmetric weights (gossamer quantize does)"
        )


def _emit_at(ctx: ExportContext, code: str, inputs: list[int], target: int, quant: Quant,
             options: tuple[str, dict] | None = None) -> None:  # fmt: skip
    """`code` writing `target` as if it were quantised `quant` (what its kernel needs): into a
    temp at `quant`, then a QUANTIZE (requantisation) into `target` when the params differ."""
    spec = ctx.writer.tensors[target]
    if _same(spec.quant, quant):
        ctx.emit(code, inputs, [target], options, 2)
        return
    tmp = ctx.temp(f"{code.lower()}_out", spec.dtype, spec.shape, quant)
    ctx.emit(code, inputs, [tmp], options, 2)
    ctx.emit("QUANTIZE", [tmp], [target], None, 2)


def qlinear_conv(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    _int8(ctx, x, y)
    w = ctx.const(node.inputs[3], "weights")
    if w.ndim != 4 or w.dtype != np.int8:
        raise Refused(f"{w.dtype} weights of rank {w.ndim} (int8 2-D convolutions only)")
    _symmetric(ctx, node, 5)
    g = geometry(ctx, node, x, list(w.shape[2:]))
    group, cin, out_ch = int(node.attrs.get("group", 1)), ctx.shape(x)[1], int(w.shape[0])
    xs = padded_input(ctx, node, x, g["pads"])  # int8 PAD fills with x's zero point
    opts = {
        "padding": g["padding"], "stride_h": g["strides"][0], "stride_w": g["strides"][1],
        "dilation_h_factor": g["dilations"][0], "dilation_w_factor": g["dilations"][1],
        "fused_activation_function": 0,
    }  # fmt: skip
    if group == 1:
        code, kind, perm = "CONV_2D", "Conv2DOptions", (0, 2, 3, 1)
    elif group == cin and w.shape[1] == 1:
        code, kind, perm = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions", (1, 2, 3, 0)
        opts["depth_multiplier"] = out_ch // group
    else:
        code, kind, perm = "CONV_2D", "Conv2DOptions", (0, 2, 3, 1)
    weights = quantised_const(ctx, node, 3, 4, 5, 0, perm)
    biases = bias(ctx, node, 8, 1, 4, out_ch)
    out = ctx.define(y, NHWC)
    if code == "CONV_2D" and group > 1:
        per = out_ch // group
        grouped(ctx, xs, out, group, (code, kind, opts),
                lambda g: _slice(ctx, weights, g * per, per),
                lambda g: _slice(ctx, biases, g * per, per), 3)  # fmt: skip
        return
    ctx.emit(code, [xs, weights, biases], [out], (kind, opts), 3)


def _slice(ctx: ExportContext, index: int, start: int, count: int) -> int:
    """Output channels [start, start + count) of a constant (weights or bias) and their params."""
    spec = ctx.writer.tensors[index]
    q = spec.quant
    if q is not None and len(q.scales) > 1:
        q = Quant(q.scales[start : start + count], q.zero_points[start : start + count], q.axis)
    data = spec.data[start : start + count]
    return ctx.add_const(data, f"{spec.name}/{start}", q)


def _fc(ctx: ExportContext, node: Node, a: str, w_perm: tuple[int, int], bias_index: int) -> None:
    """FULLY_CONNECTED of int8 `a` by the constant weights at input 3 read as [N, K]."""
    y = node.outputs[0]
    w = ctx.const(node.inputs[3], "weights (TFLite's FULLY_CONNECTED takes constant ones)")
    if w.ndim != 2 or w.dtype != np.int8:
        raise Refused(f"{w.dtype} weights of rank {w.ndim} (2-D int8 only)")
    _symmetric(ctx, node, 5)
    n = int(w.shape[w_perm[0]])
    weights = quantised_const(ctx, node, 3, 4, 5, w_perm[0], w_perm)
    inputs = [ctx.tensor(a), weights, bias(ctx, node, bias_index, 1, 4, n)]
    opts = {"fused_activation_function": 0, "keep_num_dims": ctx.rank(a) > 2}
    ctx.emit("FULLY_CONNECTED", inputs, [ctx.define(y)], ("FullyConnectedOptions", opts), 4)


def qlinear_matmul(ctx: ExportContext, node: Node) -> None:
    a, b, y = node.inputs[0], node.inputs[3], node.outputs[0]
    _int8(ctx, a, y)
    if ctx.is_const(b) and ctx.const(b).ndim == 2:
        _fc(ctx, node, a, (1, 0), 99)  # no bias input: zeros
        return
    _int8(ctx, b)
    opts = ("BatchMatMulOptions", {"adj_x": False, "adj_y": False})
    ctx.emit("BATCH_MATMUL", [ctx.tensor(a), ctx.tensor(b)], [ctx.define(y)], opts, 2)


def qgemm(ctx: ExportContext, node: Node) -> None:
    a, y = node.inputs[0], node.outputs[0]
    if len(node.inputs) < 8 or not node.inputs[7]:
        raise Refused("a QGemm with a float output")
    if node.attrs.get("transA", 0) or float(node.attrs.get("alpha", 1.0)) != 1.0:
        raise Refused("transA or alpha != 1")
    _int8(ctx, a, y)
    _fc(ctx, node, a, (0, 1) if node.attrs.get("transB", 0) else (1, 0), 6)


def qlinear_binary(code: str, options: str) -> object:
    """QLinearAdd / QLinearMul: broadcasting, in the layout of the computed operand."""

    def lower(ctx: ExportContext, node: Node) -> None:
        a, b, y = node.inputs[0], node.inputs[3], node.outputs[0]
        _int8(ctx, y)
        rank = ctx.rank(y)
        computed = [n for n in (a, b) if not ctx.is_const(n) and ctx.rank(n) == rank]
        perm = ctx.layout(computed[0]) if len(computed) == 2 or computed else tuple(range(rank))
        if any(not ctx.is_const(n) and ctx.rank(n) != rank for n in (a, b)):
            perm = tuple(range(rank))
        tensors = []
        for k, name in ((0, a), (3, b)):
            if not ctx.is_const(name):
                tensors.append(ctx.tensor(name, perm))
                continue
            data = ctx.const(name)
            data = np.transpose(data.reshape((1,) * (rank - data.ndim) + data.shape), perm)
            s, z = param(ctx, node, k + 1).astype(np.float32), param(ctx, node, k + 2)
            tensors.append(ctx.add_const(data, name, Quant(s, z.astype(np.int64), 0)))
        opts = (options, {"fused_activation_function": 0})
        ctx.emit(code, tensors, [ctx.define(y, perm)], opts, 2)

    return lower


def qlinear_average_pool(ctx: ExportContext, node: Node) -> None:
    """AVERAGE_POOL_2D keeps its input's params (the TFLite kernel does not rescale)."""
    x, y = node.inputs[0], node.outputs[0]
    _int8(ctx, x, y)
    if node.attrs.get("channels_last", 0):
        raise Refused("channels_last")
    kernel = [int(k) for k in node.attrs["kernel_shape"]]
    g = geometry(ctx, node, x, kernel)
    if g["pads"] is not None and not node.attrs.get("count_include_pad", 0):
        raise Refused("pads other than TFLite's SAME without count_include_pad")
    xs = padded_input(ctx, node, x, g["pads"])
    check_pool_output(ctx, node, xs, kernel, g)
    opts = {
        "padding": g["padding"], "stride_h": g["strides"][0], "stride_w": g["strides"][1],
        "filter_height": kernel[0], "filter_width": kernel[1], "fused_activation_function": 0,
    }  # fmt: skip
    target = ctx.define(y, NHWC)
    x_quant = ctx.writer.tensors[xs].quant or ctx.writer.tensors[target].quant
    _emit_at(ctx, "AVERAGE_POOL_2D", [xs], target, x_quant, ("Pool2DOptions", opts))


def _same(a: Quant | None, b: Quant | None) -> bool:
    return (a is None) == (b is None) and (
        a is None
        or (np.array_equal(a.scales, b.scales) and np.array_equal(a.zero_points, b.zero_points))
    )


def qlinear_global_average_pool(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    _int8(ctx, x, y)
    if node.attrs.get("channels_last", 0):
        raise Refused("channels_last")
    perm = ctx.layout(x)
    axes = ctx.int32s([list(perm).index(a) for a in range(2, ctx.rank(x))], "axes")
    opts = ("ReducerOptions", {"keep_dims": True})
    ctx.emit("MEAN", [ctx.tensor(x, perm), axes], [ctx.define(y, perm)], opts, 2)


def qlinear_sigmoid(ctx: ExportContext, node: Node) -> None:
    """LOGISTIC writes (1/256, -128); other output params through a QUANTIZE."""
    x, y = node.inputs[0], node.outputs[0]
    _int8(ctx, x, y)
    perm = ctx.layout(x)
    fixed = Quant(np.array([FIXED_LOGISTIC[0]]), np.array([FIXED_LOGISTIC[1]]), 0)
    _emit_at(ctx, "LOGISTIC", [ctx.tensor(x, perm)], ctx.define(y, perm), fixed)


def qlinear_leaky_relu(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    _int8(ctx, x, y)
    perm = ctx.layout(x)
    opts = ("LeakyReluOptions", {"alpha": float(node.attrs.get("alpha", 0.01))})
    ctx.emit("LEAKY_RELU", [ctx.tensor(x, perm)], [ctx.define(y, perm)], opts, 2)


def qlinear_concat(ctx: ExportContext, node: Node) -> None:
    """QLinearConcat(y_scale, y_zp, (x, x_scale, x_zp)...): inputs requantised to y's params."""
    y = node.outputs[0]
    s, z = param(ctx, node, 0).astype(np.float32), param(ctx, node, 1).astype(np.int64)
    ctx.quant[y] = QuantParams(s.reshape(()), z.reshape(()))
    xs = node.inputs[2::3]
    _int8(ctx, y, *xs)
    rank = ctx.rank(y)
    axis = int(node.attrs.get("axis", 0)) % rank
    computed = [x for x in xs if not ctx.is_const(x)]
    perm = ctx.layout(computed[0]) if computed else tuple(range(rank))
    out = ctx.define(y, perm)
    tensors = [requantised(ctx, x, y, perm) for x in xs]
    opts = {"axis": list(perm).index(axis), "fused_activation_function": 0}
    ctx.emit("CONCATENATION", tensors, [out], ("ConcatenationOptions", opts), 2)


def quantize_linear(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if len(node.inputs) > 1 and ctx.const(node.inputs[1], "scale").size > 1:
        raise Refused("per-channel quantisation of an activation")
    _int8(ctx, y)
    perm = ctx.layout(x)
    ctx.emit("QUANTIZE", [ctx.tensor(x, perm)], [ctx.define(y, perm)], None, 2)


def dequantize_linear(ctx: ExportContext, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if len(node.inputs) > 1 and ctx.const(node.inputs[1], "scale").size > 1:
        raise Refused("per-channel dequantisation of an activation")
    perm = ctx.layout(x)
    ctx.emit("DEQUANTIZE", [ctx.tensor(x, perm)], [ctx.define(y, perm)], None, 2)


MS = "com.microsoft"
LOWERINGS = {
    ("", "QLinearConv"): qlinear_conv,
    ("", "QLinearMatMul"): qlinear_matmul,
    ("", "QuantizeLinear"): quantize_linear,
    ("", "DequantizeLinear"): dequantize_linear,
    (MS, "QGemm"): qgemm,
    (MS, "QLinearAdd"): qlinear_binary("ADD", "AddOptions"),
    (MS, "QLinearMul"): qlinear_binary("MUL", "MulOptions"),
    (MS, "QLinearAveragePool"): qlinear_average_pool,
    (MS, "QLinearGlobalAveragePool"): qlinear_global_average_pool,
    (MS, "QLinearSigmoid"): qlinear_sigmoid,
    (MS, "QLinearLeakyRelu"): qlinear_leaky_relu,
    (MS, "QLinearConcat"): qlinear_concat,
}
