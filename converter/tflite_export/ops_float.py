"""ONNX float convolutions, pooling and matrix products (NCHW) -> TFLite builtins on NHWC
tensors (the value's layout, context.py): Conv -> CONV_2D / DEPTHWISE_CONV_2D (weights OIHW ->
OHWI / [1, KH, KW, O]), pools -> *_POOL_2D, Gemm / MatMul -> FULLY_CONNECTED or BATCH_MATMUL.
ONNX's explicit pads become TFLite's SAME where they are TFLite's SAME pads (the odd pixel after),
VALID where zero, else a PAD before a VALID op. A Relu / Clip(0, 6) / Clip(-1, 1) that is the
only reader of a Conv, Gemm or MatMul is fused into it (TFLite clamps the same way)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...refimpl.ir import Node
from .context import NHWC, ExportContext, Refused
from .ops_tflite import ACTIVATIONS

FLT_LOWEST = float(np.finfo(np.float32).min)
FUSABLE = {(0.0, float("inf")): "RELU", (0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1"}


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's SAME padding (lite/kernels/padding.h): (before, after)."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def geometry(ctx: ExportContext, node: Node, x: str, kernel: list[int]) -> dict:
    """strides, dilations and TFLite padding of a 2-D window op; `pads` [top, left, bottom,
    right] left over for an explicit PAD (None when SAME or VALID covers them)."""
    shape = ctx.shape(x)
    if len(shape) != 4 or len(kernel) != 2:
        raise Refused(f"{len(kernel)} spatial dims (TFLite's 2-D ops take 2)")
    hw = shape[2:]
    if not all(isinstance(d, int) for d in hw):
        raise Refused(
            "dynamic height / width: fix the input size (export_tflite(input_shapes=...), "
            "gossamer export --shape NAME=D0,D1,...)"
        )
    strides = [int(s) for s in node.attrs.get("strides") or [1, 1]]
    dilations = [int(d) for d in node.attrs.get("dilations") or [1, 1]]
    auto = str(node.attrs.get("auto_pad", "NOTSET"))
    same = [same_pads(hw[i], kernel[i], strides[i], dilations[i]) for i in range(2)]
    if auto == "VALID":
        pads = [0, 0, 0, 0]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [same[0][0], same[1][0], same[0][1], same[1][1]]
        if auto == "SAME_LOWER":
            pads = [same[0][1], same[1][1], same[0][0], same[1][0]]
    else:
        pads = [int(p) for p in node.attrs.get("pads") or [0, 0, 0, 0]]
    result = {"strides": strides, "dilations": dilations, "pads": None}
    if pads == [same[0][0], same[1][0], same[0][1], same[1][1]]:
        result["padding"] = 0
    else:
        result["padding"] = 1
        result["pads"] = None if not any(pads) else pads
    return result


def padded_input(ctx: ExportContext, node: Node, x: str, pads: list[int] | None,
                 value: float = 0.0) -> int:  # fmt: skip
    """x's NHWC tensor, through a PAD (or PADV2 with `value`) when `pads` is given."""
    xs = ctx.tensor(x, NHWC)
    if pads is None:
        return xs
    t, left, b, r = pads
    spec = ctx.writer.tensors[xs]
    shape = (spec.shape[0], spec.shape[1] + t + b, spec.shape[2] + left + r, spec.shape[3])
    out = ctx.temp("padded", spec.dtype, shape, spec.quant)
    paddings = ctx.int32s([[0, 0], [t, b], [left, r], [0, 0]], "paddings")
    v = 2 if spec.dtype in ("int8", "uint8") else 1
    if value == 0.0:
        ctx.emit("PAD", [xs, paddings], [out], None, v)
    else:
        fill = ctx.add_const(np.array([value], spec.dtype), f"{node.name}/pad_value", spec.quant)
        ctx.emit("PADV2", [xs, paddings, fill], [out], None, v)
    return out


def fused_activation(ctx: ExportContext, node: Node) -> tuple[int, str]:
    """(TFLite activation code, the value the op writes): a Relu / Clip that alone reads the
    op's output is done by the op."""
    y = node.outputs[0]
    readers = ctx.consumers.get(y, [])
    if len(readers) != 1 or y in ctx.graph_outputs or readers[0].domain not in ("", "ai.onnx"):
        return 0, y
    reader = readers[0]
    if reader.op_type == "Relu":
        bounds = (0.0, float("inf"))
    elif reader.op_type == "Clip":
        vals = []
        for k, attr, default in ((1, "min", -np.inf), (2, "max", np.inf)):
            name = reader.inputs[k] if len(reader.inputs) > k else ""
            if name and not ctx.is_const(name):
                return 0, y
            vals.append(float(ctx.const(name).item()) if name else reader.attrs.get(attr, default))
        bounds = (float(vals[0]), float(vals[1]))
    else:
        return 0, y
    if bounds not in FUSABLE:
        return 0, y
    ctx.done.add(id(reader))
    return ACTIVATIONS[FUSABLE[bounds]], reader.outputs[0]


def _float_only(ctx: ExportContext, x: str) -> None:
    if ctx.dtype(x) != "float32":
        raise Refused(f"{ctx.dtype(x)} input (float32 here; quantise through QDQ for int8)")


def conv(ctx: ExportContext, node: Node) -> None:
    x = node.inputs[0]
    _float_only(ctx, x)
    w = ctx.const(node.inputs[1], "weights").astype(np.float32)
    if w.ndim != 4:
        raise Refused(f"Conv with {w.ndim - 2} spatial dims (TFLite's CONV_2D takes 2)")
    g = geometry(ctx, node, x, list(w.shape[2:]))
    group, cin, out_ch = int(node.attrs.get("group", 1)), ctx.shape(x)[1], w.shape[0]
    xs = padded_input(ctx, node, x, g["pads"])
    act, y = fused_activation(ctx, node)
    opts = {
        "padding": g["padding"], "stride_h": g["strides"][0], "stride_w": g["strides"][1],
        "dilation_h_factor": g["dilations"][0], "dilation_w_factor": g["dilations"][1],
        "fused_activation_function": act,
    }  # fmt: skip
    if group == 1:
        code, kind, weights = "CONV_2D", "Conv2DOptions", w.transpose(0, 2, 3, 1)
    elif group == cin and w.shape[1] == 1:
        code, kind, weights = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions", w.transpose(1, 2, 3, 0)
        opts["depth_multiplier"] = out_ch // group
    else:
        code, kind, weights = "CONV_2D", "Conv2DOptions", w.transpose(0, 2, 3, 1)
    b = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else ""
    bias = ctx.const(b, "bias").astype(np.float32) if b else np.zeros(out_ch, np.float32)
    out = ctx.define(y, NHWC)
    if code == "CONV_2D" and group > 1:
        per = out_ch // group
        grouped(ctx, xs, out, group, (code, kind, opts),
                lambda g: ctx.add_const(weights[g * per:(g + 1) * per], f"{node.inputs[1]}/{g}"),
                lambda g: ctx.add_const(bias[g * per:(g + 1) * per], f"{y}/bias/{g}"))  # fmt: skip
        return
    inputs = [xs, ctx.add_const(weights, node.inputs[1]), ctx.add_const(bias, b or f"{y}/bias")]
    ctx.emit(code, inputs, [out], (kind, opts))


def grouped(
    ctx: ExportContext,
    xs: int,
    out: int,
    group: int,
    op: tuple[str, str, dict],
    weights: Callable[[int], int],
    bias: Callable[[int], int],
    version: int = 1,
) -> None:
    """A grouped convolution as SPLIT (channels) -> one CONV_2D per group -> CONCATENATION."""
    x, y = ctx.writer.tensors[xs], ctx.writer.tensors[out]
    if x.shape[3] % group or y.shape[3] % group:
        raise Refused(f"{x.shape[3]} / {y.shape[3]} channels in {group} groups")
    ins = [ctx.temp(f"group{g}_in", x.dtype, (*x.shape[:3], x.shape[3] // group), x.quant)
           for g in range(group)]  # fmt: skip
    outs = [ctx.temp(f"group{g}_out", y.dtype, (*y.shape[:3], y.shape[3] // group), y.quant)
            for g in range(group)]  # fmt: skip
    moving = 2 if x.dtype in ("int8", "uint8") else 1
    split = ("SplitOptions", {"num_splits": group})
    ctx.emit("SPLIT", [ctx.int32s(3, "axis"), xs], ins, split, moving)
    code, kind, opts = op
    for g in range(group):
        ctx.emit(code, [ins[g], weights(g), bias(g)], [outs[g]], (kind, opts), version)
    concat = ("ConcatenationOptions", {"axis": 3, "fused_activation_function": 0})
    ctx.emit("CONCATENATION", outs, [out], concat, moving)


def conv_transpose(ctx: ExportContext, node: Node) -> None:
    """ConvTranspose (2-D, one group, no dilation) -> TRANSPOSE_CONV. TFLite pads by padding.h
    on the output size (SAME) or not at all (VALID), and checks that the output size gives the
    input's back; other pads / output paddings: a VALID TRANSPOSE_CONV of the full size, cut (or
    zero-extended) to ONNX's window, then the bias."""
    x, y = node.inputs[0], node.outputs[0]
    _float_only(ctx, x)
    w = ctx.const(node.inputs[1], "weights").astype(np.float32)
    if w.ndim != 4 or int(node.attrs.get("group", 1)) != 1:
        raise Refused("a ConvTranspose other than 2-D with one group")
    if any(int(d) != 1 for d in node.attrs.get("dilations") or [1, 1]):
        raise Refused("a dilated ConvTranspose")
    x_shape, out_shape = ctx.static_shape(x), ctx.static_shape(y)
    strides = [int(s) for s in node.attrs.get("strides") or [1, 1]]
    k = [int(d) for d in w.shape[2:]]
    pads = _transpose_pads(node, x_shape, out_shape, k, strides)
    ins, outs = x_shape[2:], out_shape[2:]
    same = [same_pads(outs[i], k[i], strides[i], 1)[0] for i in range(2)]
    b = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else ""
    bias = ctx.const(b, "bias").astype(np.float32) if b else np.zeros(w.shape[1], np.float32)
    weights = ctx.add_const(w.transpose(1, 2, 3, 0), node.inputs[1])
    if pads == same and all(-(-outs[i] // strides[i]) == ins[i] for i in range(2)):
        padding, full = 0, outs
    elif pads == [0, 0] and all((outs[i] - k[i]) // strides[i] + 1 == ins[i] for i in range(2)):
        padding, full = 1, outs
    else:
        padding, full = 1, [(ins[i] - 1) * strides[i] + k[i] for i in range(2)]
    n, c = out_shape[0], out_shape[1]
    opts = ("TransposeConvOptions", {"padding": padding, "stride_h": strides[0],
            "stride_w": strides[1], "fused_activation_function": 0})  # fmt: skip
    shape = ctx.int32s([n, *full, c], "output_shape")
    if list(full) == list(outs):
        inputs = [shape, weights, ctx.tensor(x, NHWC), ctx.add_const(bias, b or f"{y}/bias")]
        ctx.emit("TRANSPOSE_CONV", inputs, [ctx.define(y, NHWC)], opts, 3)
        return
    raw = ctx.temp("full", "float32", (n, *full, c))
    zeros = ctx.add_const(np.zeros(c, np.float32), f"{y}/no_bias")
    ctx.emit("TRANSPOSE_CONV", [shape, weights, ctx.tensor(x, NHWC), zeros], [raw], opts, 3)
    window = ctx.temp("window", "float32", (n, *outs, c))
    ends = [min(pads[i] + outs[i], full[i]) for i in range(2)]
    cut = ctx.temp("cut", "float32", (n, *(ends[i] - pads[i] for i in range(2)), c))
    ctx.emit("STRIDED_SLICE", [raw, ctx.int32s([0, *pads, 0], "begin"),
             ctx.int32s([n, *ends, c], "end"), ctx.int32s([1, 1, 1, 1], "strides")], [cut],
             ("StridedSliceOptions", {}))  # fmt: skip
    extra = [[0, 0], *([0, pads[i] + outs[i] - ends[i]] for i in range(2)), [0, 0]]
    ctx.emit("PAD", [cut, ctx.int32s(extra, "paddings")], [window])
    add = ("AddOptions", {"fused_activation_function": 0})
    ctx.emit("ADD", [window, ctx.add_const(bias, b or f"{y}/bias")], [ctx.define(y, NHWC)], add)


def _transpose_pads(node: Node, x_shape, y_shape, kernel, strides) -> list[int]:
    """ONNX ConvTranspose's leading pads [top, left] (auto_pad and output_shape resolved)."""
    auto = str(node.attrs.get("auto_pad", "NOTSET"))
    if auto == "NOTSET" and "output_shape" not in node.attrs:
        pads = [int(p) for p in node.attrs.get("pads") or [0, 0, 0, 0]]
        return pads[:2]
    begins = []
    for i in range(2):
        extra = node.attrs.get("output_padding") or [0, 0]
        total = strides[i] * (x_shape[2 + i] - 1) + int(extra[i]) + int(kernel[i]) - y_shape[2 + i]
        begins.append(total - total // 2 if auto == "SAME_LOWER" else total // 2)
    return begins


def check_pool_output(ctx: ExportContext, node: Node, xs: int, kernel: list[int], g: dict) -> None:
    """Refuses a pool whose output size TFLite's (on the padded input `xs`) is not: ONNX's
    ceil_mode adds a last, partial window that TFLite's floor-mode pooling never makes."""
    out_hw = list(ctx.shape(node.outputs[0])[2:])
    in_hw = ctx.writer.tensors[xs].shape[1:3]
    expect = [
        -(-in_hw[i] // g["strides"][i]) if g["padding"] == 0
        else (in_hw[i] - kernel[i]) // g["strides"][i] + 1
        for i in range(2)
    ]  # fmt: skip
    if out_hw != expect:
        why = " (ceil_mode=1: TFLite pools have no partial last window)"
        raise Refused(f"output {out_hw} where TFLite's pooling gives {expect}"
                      + (why if node.attrs.get("ceil_mode", 0) else ""))  # fmt: skip


def pool(code: str) -> object:
    def lower(ctx: ExportContext, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        if len(node.outputs) > 1 and node.outputs[1]:
            raise Refused("MaxPool's Indices output")
        kernel = [int(k) for k in node.attrs["kernel_shape"]]
        g = geometry(ctx, node, x, kernel)
        if g["dilations"] != [1, 1]:
            raise Refused("dilated pooling")
        value = 0.0
        if g["pads"] is not None and code == "MAX_POOL_2D":
            value = FLT_LOWEST if ctx.dtype(x) == "float32" else -128.0
        elif g["pads"] is not None and not node.attrs.get("count_include_pad", 0):
            raise Refused("AveragePool pads other than TFLite's SAME without count_include_pad")
        xs = padded_input(ctx, node, x, g["pads"], value)
        check_pool_output(ctx, node, xs, kernel, g)
        opts = {
            "padding": g["padding"], "stride_h": g["strides"][0], "stride_w": g["strides"][1],
            "filter_height": kernel[0], "filter_width": kernel[1], "fused_activation_function": 0,
        }  # fmt: skip
        ctx.emit(code, [xs], [ctx.define(y, NHWC)], ("Pool2DOptions", opts))

    return lower


def _fully_connected(ctx: ExportContext, node: Node, a: str, weights: np.ndarray,
                     bias: np.ndarray, keep: bool) -> None:  # fmt: skip
    act, y = fused_activation(ctx, node)
    inputs = [ctx.tensor(a), ctx.add_const(weights.astype(np.float32), f"{node.name}/weights"),
              ctx.add_const(bias.astype(np.float32), f"{node.name}/bias")]  # fmt: skip
    opts = {"fused_activation_function": act, "keep_num_dims": keep}
    ctx.emit("FULLY_CONNECTED", inputs, [ctx.define(y)], ("FullyConnectedOptions", opts))


def gemm(ctx: ExportContext, node: Node) -> None:
    a, b = node.inputs[0], node.inputs[1]
    _float_only(ctx, a)
    if node.attrs.get("transA", 0):
        raise Refused("transA")
    w = ctx.const(b, "B (TFLite's FULLY_CONNECTED takes constant weights)").astype(np.float64)
    w = (w if node.attrs.get("transB", 0) else w.T) * float(node.attrs.get("alpha", 1.0))
    n = w.shape[0]
    c = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else ""
    bias = np.zeros(n)
    if c:
        value = ctx.const(c, "C").astype(np.float64) * float(node.attrs.get("beta", 1.0))
        if value.size not in (1, n) or (value.ndim == 2 and value.shape[0] != 1):
            raise Refused(f"a C of shape {list(value.shape)} (TFLite adds a bias per column)")
        bias = np.broadcast_to(value.reshape(-1), (n,))
    _fully_connected(ctx, node, a, w, bias, False)


def matmul(ctx: ExportContext, node: Node) -> None:
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    _float_only(ctx, a)
    if ctx.is_const(b) and ctx.const(b).ndim == 2 and ctx.rank(a) >= 2:
        w = ctx.const(b).T
        _fully_connected(ctx, node, a, w, np.zeros(w.shape[0]), ctx.rank(a) > 2)
        return
    if min(ctx.rank(a), ctx.rank(b)) < 2:
        raise Refused("a rank-1 MatMul operand")
    opts = ("BatchMatMulOptions", {"adj_x": False, "adj_y": False})
    ctx.emit("BATCH_MATMUL", [ctx.tensor(a), ctx.tensor(b)], [ctx.define(y)], opts)


def softmax(code: str) -> object:
    """Softmax over one axis: TFLite's runs over the last physical axis, so the input is read in
    a layout that puts `axis` last. Before opset 13 (flattened to 2-D at axis) through RESHAPEs."""

    def lower(ctx: ExportContext, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        _float_only(ctx, x)
        rank = ctx.rank(x)
        old = ctx.graph.opsets.get("", 21) < 13
        axis = int(node.attrs.get("axis", 1 if old else -1)) % rank
        opts = ("SoftmaxOptions", {"beta": 1.0}) if code == "SOFTMAX" else None
        if old and axis != rank - 1:
            shape = ctx.static_shape(x)
            flat = (int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))
            a = ctx.temp("flat", "float32", flat)
            sm = ctx.temp("softmax", "float32", flat)
            ctx.emit("RESHAPE", [ctx.tensor(x), ctx.int32s(flat)], [a])
            ctx.emit(code, [a], [sm], opts)
            ctx.emit("RESHAPE", [sm, ctx.int32s(shape)], [ctx.define(y)])
            return
        perm = ctx.layout(x)
        if perm[-1] != axis:
            perm = tuple(a for a in range(rank) if a != axis) + (axis,)
        ctx.emit(code, [ctx.tensor(x, perm)], [ctx.define(y, perm)], opts)

    return lower


def batch_norm(ctx: ExportContext, node: Node) -> None:
    """Inference BatchNormalization: MUL by scale / sqrt(var + eps), ADD of B - mean * that."""
    x, y = node.inputs[0], node.outputs[0]
    _float_only(ctx, x)
    scale, b, mean, var = (ctx.const(n, "statistics").astype(np.float64) for n in node.inputs[1:5])
    mul = scale / np.sqrt(var + float(node.attrs.get("epsilon", 1e-5)))
    add = b - mean * mul
    rank, perm = ctx.rank(x), ctx.layout(x)
    shape = [1] * rank
    shape[1] = -1
    xs = ctx.tensor(x, perm)
    spec = ctx.writer.tensors[xs]
    consts = [
        ctx.add_const(np.transpose(v.reshape(shape), perm).astype(np.float32), f"{node.name}/{k}")
        for k, v in (("mul", mul), ("add", add))
    ]
    scaled = ctx.temp("scaled", "float32", spec.shape)
    ctx.emit("MUL", [xs, consts[0]], [scaled], ("MulOptions", {"fused_activation_function": 0}))
    opts = ("AddOptions", {"fused_activation_function": 0})
    ctx.emit("ADD", [scaled, consts[1]], [ctx.define(y, perm)], opts)


LOWERINGS = {
    ("", "Conv"): conv,
    ("", "MaxPool"): pool("MAX_POOL_2D"),
    ("", "AveragePool"): pool("AVERAGE_POOL_2D"),
    ("", "Gemm"): gemm,
    ("", "MatMul"): matmul,
    ("", "Softmax"): softmax("SOFTMAX"),
    ("", "LogSoftmax"): softmax("LOG_SOFTMAX"),
    ("", "BatchNormalization"): batch_norm,
    ("", "ConvTranspose"): conv_transpose,
}
