"""MediaPipe's custom TFLite ops that LiteRT's XNNPACK delegate runs, as ONNX ops.

Their options are C structs copied from the operator's custom options (as
`node->custom_initial_data`; XNNPACK's SafeCopyCustomData copies at most the struct's size, the
rest stays zero): `TfLiteTransposeConvParams {padding, stride_width, stride_height}` for
Convolution2DTransposeBias and `TfLitePoolParams {padding, stride_width, stride_height,
filter_width, filter_height, activation}` for the pooling ops, little-endian int32s; padding is
TfLitePadding (1 SAME, 2 VALID). Semantics are those of mediapipe/util/tflite/operations/*.cc:

- **Convolution2DTransposeBias** (x, weights [O, KH, KW, I], bias [O]): SAME pads
  `total = max(0, k - (in - 1) % s - 1)` (`total / 2` before), out = `s * (in - 1) + k - total`;
  VALID pads nothing. -> ONNX ConvTranspose with the bias.
- **MaxPoolingWithArgmax2D** (x) -> (max, argmax): TFLite MAX_POOL_2D's window and padding, the
  fused activation on the max, and the *window* position of the first maximum as a float,
  `ky * filter_width + kx + 0.1`. -> ONNX MaxPool with Indices, turned into window positions.
  (XNNPACK writes the uint32 window index's bits into the float argmax tensor instead; its
  MaxUnpooling2D reads them back the same way, so a pool -> unpool pair agrees.)
- **MaxUnpooling2D** (x, argmax) -> y [N, H * fh, W * fw, C]: zeros, then each value written at
  `(iy * s - pad + idx / fw, ix * s - pad + idx % fw)` with idx = int(argmax) and
  pad = ComputePadding of the *unpooled* size. -> ONNX MaxUnpool with flat indices.
"""

from __future__ import annotations

import struct

import numpy as np

from .context import ACTIVATIONS, Context, Converter, Unsupported
from .ops_conv import TO_NCHW, TO_NHWC
from .reader import Operator

SAME, VALID = 1, 2  # TfLitePadding


def _params(op: Operator, names: tuple[str, ...]) -> dict[str, int]:
    raw = op.custom_options[: 4 * len(names)]
    raw += b"\0" * (4 * len(names) - len(raw))
    values = dict(zip(names, struct.unpack(f"<{len(names)}i", raw)))
    if values["padding"] not in (SAME, VALID):
        raise Unsupported(f"padding type {values['padding']} in its custom options")
    small = {k: v for k, v in values.items() if k.startswith(("stride", "filter")) and v < 1}
    if small:
        raise Unsupported(f"custom options {small} (must be positive)")
    return values


def _nhwc(ctx: Context, index: int, what: str) -> tuple[int, ...]:
    t = ctx.tensor(index)
    if t.dtype != "float32":
        raise Unsupported(f"a {t.dtype} {what} (MediaPipe's kernel takes float32)")
    signature = t.shape_signature if t.shape_signature is not None else t.shape
    if len(t.shape) != 4 or min(signature, default=0) < 0:
        raise Unsupported(f"a {what} of shape {list(signature)} (a static 4-D one is needed)")
    return tuple(t.shape)


def transpose_conv_bias(ctx: Context, op: Operator) -> None:
    if len(op.inputs) != 3 or len(op.outputs) != 1:
        raise Unsupported("it needs inputs (x, weights, bias) and one output")
    p = _params(op, ("padding", "stride_width", "stride_height"))
    shape = _nhwc(ctx, op.inputs[0], "input")
    filt = np.asarray(ctx.const(op.inputs[1], "weights"), np.float32)  # [O, KH, KW, I]
    bias = np.asarray(ctx.const(op.inputs[2], "bias"), np.float32)
    if filt.ndim != 4 or filt.shape[3] != shape[3] or bias.shape != (filt.shape[0],):
        raise Unsupported(f"weights {filt.shape} and bias {bias.shape} for input {list(shape)}")
    strides = [p["stride_height"], p["stride_width"]]
    kernel = [filt.shape[1], filt.shape[2]]
    begin, end = [], []
    for size, k, s in zip(shape[1:3], kernel, strides):
        total = max(0, k - (size - 1) % s - 1) if p["padding"] == SAME else 0
        begin.append(total // 2)
        end.append(total - total // 2)
    weights = ctx.add_const("filter_iohw", np.ascontiguousarray(filt.transpose(3, 0, 1, 2)))
    x = ctx.emit("Transpose", [ctx.name(op.inputs[0])], perm=TO_NCHW)
    y = ctx.emit("ConvTranspose", [x, weights, ctx.add_const("bias", bias)],
                 kernel_shape=kernel, strides=strides, pads=begin + end)  # fmt: skip
    ctx.emit("Transpose", [y], [ctx.names[op.outputs[0]]], perm=TO_NHWC)


_POOL = ("padding", "stride_width", "stride_height", "filter_width", "filter_height", "activation")


def _window(p: dict[str, int]) -> tuple[list[int], list[int]]:
    return [p["filter_height"], p["filter_width"]], [p["stride_height"], p["stride_width"]]


def _activation(p: dict[str, int]) -> int:
    if p["activation"] not in ACTIVATIONS:
        raise Unsupported(f"fused activation {p['activation']} in its custom options")
    return p["activation"]


def max_pool_argmax(ctx: Context, op: Operator) -> None:
    if len(op.inputs) != 1 or len(op.outputs) != 2:
        raise Unsupported("it needs one input and outputs (max, argmax)")
    p = _params(op, _POOL)
    n, h, w, c = _nhwc(ctx, op.inputs[0], "input")
    kernel, strides = _window(p)
    outs, pads = [], []
    for size, k, s in zip((h, w), kernel, strides):
        out = (size + s - 1) // s if p["padding"] == SAME else (size - k + s) // s
        if out < 1:
            raise Unsupported(f"a {k}-wide window over {size} pixels")
        total = max((out - 1) * s + k - size, 0)
        outs.append(out)
        pads.append((total // 2, total - total // 2))
    x = ctx.emit("Transpose", [ctx.name(op.inputs[0])], perm=TO_NCHW)
    pooled, flat = ctx.fresh(f"maxpoolargmax_{op.index}"), ctx.fresh(f"argmax_{op.index}")
    ctx.emit("MaxPool", [x], [pooled, flat], kernel_shape=kernel, strides=strides,
             pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]])  # fmt: skip
    y = ctx.activate(pooled, _activation(p))
    ctx.emit("Transpose", [y], [ctx.names[op.outputs[0]]], perm=TO_NHWC)
    # flat index ((n*C + c)*H + iy)*W + ix -> window position (iy - oy0)*fw + ix - ox0, with
    # (oy0, ox0) the window's origin: = iy*(fw - W) + (iy*W + ix) - (oy0*fw + ox0)
    oy0 = np.arange(outs[0]) * strides[0] - pads[0][0]
    ox0 = np.arange(outs[1]) * strides[1] - pads[1][0]
    origin = (oy0[:, None] * kernel[1] + ox0[None, :]).astype(np.int64)[None, None]
    hw = ctx.emit("Mod", [flat, ctx.int64s(h * w)])
    row = ctx.emit("Div", [hw, ctx.int64s(w)])
    pos = ctx.emit("Add", [ctx.emit("Mul", [row, ctx.int64s(kernel[1] - w)]), hw])
    pos = ctx.emit("Sub", [pos, ctx.add_const("window_origin", origin)])
    pos = ctx.emit("Add", [ctx.emit("Cast", [pos], to=1), ctx.scalar(0.1)])
    ctx.emit("Transpose", [pos], [ctx.names[op.outputs[1]]], perm=TO_NHWC)


def max_unpooling(ctx: Context, op: Operator) -> None:
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise Unsupported("it needs inputs (x, argmax) and one output")
    p = _params(op, _POOL)  # its kernel computes the activation range but never applies it
    n, h, w, c = _nhwc(ctx, op.inputs[0], "input")
    if _nhwc(ctx, op.inputs[1], "argmax") != (n, h, w, c):
        raise Unsupported(f"argmax of shape {list(ctx.tensor(op.inputs[1]).shape)}")
    kernel, strides = _window(p)
    out_h, out_w = h * kernel[0], w * kernel[1]
    # padding.h ComputePadding(stride, 1, unpooled size, filter, pooled size), C's division
    pad = [max(int(((i - 1) * s + k - o) / 2), 0)
           for i, s, k, o in zip((h, w), strides, kernel, (out_h, out_w))]  # fmt: skip
    # flat output index = ((n*C + c)*OH + oy)*OW + ox with oy = iy*s - pad + idx / fw and
    # ox = ix*s - pad + idx % fw: = idx / fw * (OW - fw) + idx + base[n, c, iy, ix]
    base = (
        (np.arange(n)[:, None, None, None] * c + np.arange(c)[None, :, None, None]) * out_h * out_w
        + (np.arange(h)[None, None, :, None] * strides[0] - pad[0]) * out_w
        + np.arange(w)[None, None, None, :] * strides[1]
        - pad[1]
    ).astype(np.int64)
    x = ctx.emit("Transpose", [ctx.name(op.inputs[0])], perm=TO_NCHW)
    idx = ctx.emit("Transpose", [ctx.name(op.inputs[1])], perm=TO_NCHW)
    idx = ctx.emit("Cast", [idx], to=7)  # float -> int64 truncates, as C's conversion
    rows = ctx.emit("Div", [idx, ctx.int64s(kernel[1])])
    flat = ctx.emit("Add", [ctx.emit("Mul", [rows, ctx.int64s(out_w - kernel[1])]), idx])
    flat = ctx.emit("Add", [flat, ctx.add_const("unpool_base", base)])
    y = ctx.emit("MaxUnpool", [x, flat, ctx.int64s([n, c, out_h, out_w])],
                 kernel_shape=kernel, strides=strides)  # fmt: skip
    ctx.emit("Transpose", [y], [ctx.names[op.outputs[0]]], perm=TO_NHWC)


# by custom code
CONVERTERS: dict[str, Converter] = {
    "Convolution2DTransposeBias": transpose_conv_bias,
    "MaxPoolingWithArgmax2D": max_pool_argmax,
    "MaxUnpooling2D": max_unpooling,
}
