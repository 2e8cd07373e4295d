"""Convolutions, pooling and matrix products: TFLite (NHWC activations, OHWI filters) to ONNX
Conv/MaxPool/AveragePool (NCHW) between Transposes, and Gemm/MatMul.

Each NHWC op becomes Transpose(NHWC->NCHW) -> op -> fused activation -> Transpose(NCHW->NHWC);
between two such ops the optimiser's transpose cancellation removes the back-to-back pair. Padding
is computed exactly as TFLite's `ComputePaddingHeightWidth` (lite/kernels/padding.h): SAME gives
out = ceil(in / stride), total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the
smaller half (total // 2) before and the rest after; VALID pads nothing.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported
from .reader import Operator

TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]
SAME, VALID = 0, 1


def _float(ctx: Context, index: int) -> None:
    t = ctx.tensor(index)
    if t.dtype != "float32":
        raise Unsupported(f"{t.dtype} tensors (only float32 is imported so far)")


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's SAME padding for one spatial dim: (before, after)."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _geometry(ctx: Context, op: Operator, x: int, kernel: tuple[int, int]) -> dict:
    o = op.options
    strides = [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))]
    dilations = [int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))]
    if min(strides) < 1 or min(dilations) < 1:
        raise Unsupported(f"strides {strides} / dilations {dilations} must be positive")
    attrs: dict = {"kernel_shape": list(kernel), "strides": strides}
    padding = int(o.get("padding", SAME))
    if padding == VALID:
        attrs["pads"] = [0, 0, 0, 0]
    elif padding == SAME:
        t = ctx.tensor(x)
        dynamic = t.shape_signature is not None and min(t.shape_signature[1:3]) < 0
        if dynamic:
            attrs["auto_pad"] = "SAME_UPPER"  # the same rule, applied at run time
        else:
            (top, bottom), (left, right) = (
                same_pads(t.shape[1 + i], kernel[i], strides[i], dilations[i]) for i in range(2)
            )
            attrs["pads"] = [top, left, bottom, right]
    else:
        raise Unsupported(f"padding type {padding}")
    if dilations != [1, 1]:
        attrs["dilations"] = dilations
    return attrs


def _nchw_op(ctx: Context, op: Operator, op_type: str, inputs: list[str], **attrs) -> None:
    x = ctx.emit("Transpose", [inputs[0]], perm=TO_NCHW)
    y = ctx.emit(op_type, [x, *inputs[1:]], **attrs)
    y = ctx.activate(y, int(op.options.get("fused_activation_function", 0)))
    ctx.emit("Transpose", [y], [ctx.names[op.outputs[0]]], perm=TO_NHWC)


def _bias(ctx: Context, op: Operator, channels: int) -> list[str]:
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return []
    bias = ctx.const(op.inputs[2], "bias")
    if bias.shape != (channels,):
        raise Unsupported(f"bias shape {bias.shape} does not match {channels} output channels")
    return [ctx.add_const("bias", np.asarray(bias, np.float32))]


def conv_2d(ctx: Context, op: Operator) -> None:
    x, w = op.inputs[0], op.inputs[1]
    _float(ctx, x)
    filt = np.asarray(ctx.const(w, "filter"), np.float32)  # [O, KH, KW, I]
    if filt.ndim != 4 or len(ctx.tensor(x).shape) != 4:
        raise Unsupported("CONV_2D needs a 4-D input and filter")
    channels = ctx.tensor(x).shape[3]
    if filt.shape[3] == 0 or channels % filt.shape[3]:
        raise Unsupported(f"{channels} input channels for a filter of {filt.shape[3]}")
    weights = ctx.add_const("filter_oihw", np.ascontiguousarray(filt.transpose(0, 3, 1, 2)))
    attrs = _geometry(ctx, op, x, (filt.shape[1], filt.shape[2]))
    group = channels // filt.shape[3]
    if group != 1:
        attrs["group"] = group
    inputs = [ctx.name(x), weights, *_bias(ctx, op, filt.shape[0])]
    _nchw_op(ctx, op, "Conv", inputs, **attrs)


def depthwise_conv_2d(ctx: Context, op: Operator) -> None:
    x, w = op.inputs[0], op.inputs[1]
    _float(ctx, x)
    filt = np.asarray(ctx.const(w, "filter"), np.float32)  # [1, KH, KW, C * M]
    if filt.ndim != 4 or filt.shape[0] != 1 or len(ctx.tensor(x).shape) != 4:
        raise Unsupported("DEPTHWISE_CONV_2D needs a 4-D input and a [1, KH, KW, C*M] filter")
    channels = ctx.tensor(x).shape[3]
    if channels == 0 or filt.shape[3] % channels:
        raise Unsupported(f"{filt.shape[3]} output channels for {channels} input channels")
    # output channel o = c * M + m reads input channel c: ONNX's grouped conv with C groups
    weights = ctx.add_const("filter_dw", np.ascontiguousarray(filt.transpose(3, 0, 1, 2)))
    attrs = _geometry(ctx, op, x, (filt.shape[1], filt.shape[2]))
    attrs["group"] = channels
    inputs = [ctx.name(x), weights, *_bias(ctx, op, filt.shape[3])]
    _nchw_op(ctx, op, "Conv", inputs, **attrs)


def _pool(op_type: str, **extra) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        x = op.inputs[0]
        _float(ctx, x)
        if len(ctx.tensor(x).shape) != 4:
            raise Unsupported("pooling needs a 4-D input")
        kernel = (int(op.options.get("filter_height", 1)), int(op.options.get("filter_width", 1)))
        if min(kernel) < 1:
            raise Unsupported(f"filter size {list(kernel)}")
        attrs = {**_geometry(ctx, op, x, kernel), **extra}
        _nchw_op(ctx, op, op_type, [ctx.name(x)], **attrs)

    return convert


def fully_connected(ctx: Context, op: Operator) -> None:
    x, w = op.inputs[0], op.inputs[1]
    _float(ctx, x)
    if int(op.options.get("weights_format", 0)) != 0:
        raise Unsupported("shuffled weights format")
    weights = np.asarray(ctx.const(w, "weights"), np.float32)  # [N, K]
    if weights.ndim != 2:
        raise Unsupported(f"weights of rank {weights.ndim}")
    n, k = weights.shape
    shape = ctx.tensor(x).shape
    a = ctx.name(x)
    if len(shape) != 2 or shape[-1] != k:
        a = ctx.emit("Reshape", [a, ctx.int64s([-1, k])])
    bias = _bias(ctx, op, n)
    y = ctx.emit("Gemm", [a, ctx.add_const("weights", weights), *bias], transB=1)
    y = ctx.activate(y, int(op.options.get("fused_activation_function", 0)))
    out = ctx.tensor(op.outputs[0])
    if len(out.shape) == 2 and (len(shape) == 2 or not op.options.get("keep_num_dims")):
        ctx.emit("Identity", [y], [ctx.names[op.outputs[0]]])
        return
    # keep_num_dims: the input's leading dims, then N (a dynamic batch dim stays -1)
    target = list(out.shape_signature if out.shape_signature is not None else out.shape)
    if target.count(-1) > 1:
        raise Unsupported("keep_num_dims with several dynamic dims")
    ctx.emit("Reshape", [y, ctx.int64s(target)], [ctx.names[op.outputs[0]]])


def batch_matmul(ctx: Context, op: Operator) -> None:
    a, b = op.inputs[0], op.inputs[1]
    _float(ctx, a)
    _float(ctx, b)
    names = []
    for index, adjoint in ((a, op.options.get("adj_x")), (b, op.options.get("adj_y"))):
        name = ctx.name(index)
        rank = len(ctx.tensor(index).shape)
        if adjoint:
            if rank < 2:
                raise Unsupported("adjoint of a rank < 2 operand")
            perm = [*range(rank - 2), rank - 1, rank - 2]
            name = ctx.emit("Transpose", [name], perm=perm)
        names.append(name)
    ctx.emit("MatMul", names, [ctx.names[op.outputs[0]]])


def transpose_conv(ctx: Context, op: Operator) -> None:
    """TRANSPOSE_CONV(output_shape, weights [O, KH, KW, I], x[, bias]) as ONNX ConvTranspose.

    TFLite pads as a conv from the *output* back to the input would (padding.h with the output
    size as the input size: SAME gives before = total // 2) and crops/extends the end so that the
    result has exactly `output_shape`; the end padding here is whatever makes that size, and a
    negative one becomes output_padding."""
    shape_index, w, x = op.inputs[0], op.inputs[1], op.inputs[2]
    _float(ctx, x)
    out_shape = [int(d) for d in np.asarray(ctx.const(shape_index, "output_shape")).reshape(-1)]
    filt = np.asarray(ctx.const(w, "filter"), np.float32)  # [O, KH, KW, I]
    in_shape = ctx.tensor(x).shape
    if filt.ndim != 4 or len(in_shape) != 4 or len(out_shape) != 4:
        raise Unsupported("TRANSPOSE_CONV needs 4-D input, filter and output_shape")
    if filt.shape[3] != in_shape[3] or filt.shape[0] != out_shape[3]:
        raise Unsupported(f"filter {filt.shape} for input {in_shape} and output {out_shape}")
    o = op.options
    strides = [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))]
    if min(strides) < 1:
        raise Unsupported(f"strides {strides}")
    kernel = [filt.shape[1], filt.shape[2]]
    pads_begin, pads_end, extra = [], [], []
    for i in range(2):
        if int(o.get("padding", SAME)) == SAME:
            before = same_pads(out_shape[1 + i], kernel[i], strides[i], 1)[0]
        else:
            before = 0
        end = strides[i] * (in_shape[1 + i] - 1) + kernel[i] - before - out_shape[1 + i]
        pads_begin.append(before)
        pads_end.append(max(end, 0))
        extra.append(max(-end, 0))
    weights = ctx.add_const("filter_iohw", np.ascontiguousarray(filt.transpose(3, 0, 1, 2)))
    bias = []
    if len(op.inputs) > 3 and op.inputs[3] >= 0:
        bias = [ctx.add_const("bias", np.asarray(ctx.const(op.inputs[3], "bias"), np.float32))]
    attrs: dict = {"kernel_shape": kernel, "strides": strides, "pads": pads_begin + pads_end}
    if any(extra):
        attrs["output_padding"] = extra
    _nchw_op(ctx, op, "ConvTranspose", [ctx.name(x), weights, *bias], **attrs)


CONVERTERS: dict[str, Converter] = {
    "TRANSPOSE_CONV": transpose_conv,
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "MAX_POOL_2D": _pool("MaxPool"),
    # TFLite averages over the window's in-bounds elements only
    "AVERAGE_POOL_2D": _pool("AveragePool", count_include_pad=0),
    "FULLY_CONNECTED": fully_connected,
    "BATCH_MATMUL": batch_matmul,
}
