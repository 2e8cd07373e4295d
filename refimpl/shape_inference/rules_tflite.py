"""Rules for TFLite's integer ops (domain `tflite`, refimpl/ops/op_tfl_*.py): NHWC windows with
TFLite's SAME / VALID sizes, numpy broadcasting, reductions, and the dtype each op produces."""

from __future__ import annotations

from ..ir import Node
from ..ops._tflite_window import out_and_pad
from .scope import Rule, Scope, in_name, norm_axis, out_name, rule_table
from .symbolic import broadcast_shapes

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)


@rule("Logistic", "Tanh", "Relu", "Softmax", "HardSwish", "LeakyRelu", "ConcatenationRescale",
      "LogSoftmax")  # fmt: skip
def _same(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, x.shape)


@rule("Quantize", "Requantize", "Dequantize", "QuantizePerChannel", "RequantizeInt32")
def _converted(s: Scope, n: Node) -> None:
    dtype = "float32" if n.op_type == "Dequantize" else str(n.attrs.get("to", "int8"))
    s.set(out_name(n), dtype, s.shape(in_name(n, 0)))


@rule("PRelu")
def _prelu(s: Scope, n: Node) -> None:
    s.set(out_name(n), s.dtype(in_name(n, 0)), broadcast_shapes(s.shape(n.inputs[0]),
                                                                 s.shape(n.inputs[3])))  # fmt: skip


@rule("Add", "Sub", "Mul", "SquaredDifference", "AddInt16", "SubInt16")
def _broadcast(s: Scope, n: Node) -> None:
    s.set(out_name(n), s.dtype(in_name(n, 0)), broadcast_shapes(s.shape(n.inputs[0]),
                                                                 s.shape(n.inputs[3])))  # fmt: skip


def _weights(n: Node) -> int:
    """The weights' input: after (x, x_scale, x_zp), or right after x in the hybrid ops."""
    return 1 if n.op_type.startswith("Hybrid") else 3


def _window(size: object, kernel: object, stride: int, dilation: int, padding: str) -> int | None:
    if not isinstance(size, int) or not isinstance(kernel, int):
        return None
    return out_and_pad(size, kernel, stride, dilation, padding)[0]


@rule("Conv2D", "DepthwiseConv2D", "AveragePool2D", "MaxPool2D", "HybridConv2D",
      "HybridDepthwiseConv2D")  # fmt: skip
def _nhwc_window(s: Scope, n: Node) -> None:
    x = s.shape(in_name(n, 0))
    pool = n.op_type.endswith("Pool2D")
    w = None if pool else s.shape(in_name(n, _weights(n)))
    if x is None or len(x) != 4 or (not pool and (w is None or len(w) != 4)):
        s.set(out_name(n), s.dtype(in_name(n, 0)), None)
        return
    filt = w or (None, None, None, None)
    kernel = n.attrs["kernel_shape"] if pool else [filt[1], filt[2]]
    strides = n.attrs.get("strides") or [1, 1]
    dilations = n.attrs.get("dilations") or [1, 1]
    padding = n.attrs.get("padding", "VALID")
    hw = [_window(x[1 + i], kernel[i], strides[i], dilations[i], padding) for i in range(2)]
    channels = x[3] if pool else (filt[3] if "Depthwise" in n.op_type else filt[0])
    s.set(out_name(n), s.dtype(in_name(n, 0)), (x[0], *hw, channels))


@rule("TransposeConv2D")
def _transpose_conv(s: Scope, n: Node) -> None:
    s.set(out_name(n), s.dtype(in_name(n, 0)), tuple(int(d) for d in n.attrs["output_shape"]))


@rule("ResizeBilinear", "ResizeBilinearUint8")
def _resize(s: Scope, n: Node) -> None:
    x = s.shape(in_name(n, 0))
    size = [int(d) for d in n.attrs["size"]]
    s.set(out_name(n), s.dtype(in_name(n, 0)), None if x is None else (x[0], *size, x[3]))


@rule("BatchMatMul", "BatchMatMulInt16", "HybridBatchMatMul")
def _batch_matmul(s: Scope, n: Node) -> None:
    a, b = s.shape(in_name(n, 0)), s.shape(in_name(n, _weights(n)))
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        s.set(out_name(n), s.dtype(in_name(n, 0)), None)
        return
    rows = a[-1] if n.attrs.get("adj_x") else a[-2]
    cols = b[-2] if n.attrs.get("adj_y") else b[-1]
    batch = broadcast_shapes(a[:-2], b[:-2]) or ()
    s.set(out_name(n), s.dtype(in_name(n, 0)), (*batch, rows, cols))


@rule("FullyConnected", "HybridFullyConnected")
def _fully_connected(s: Scope, n: Node) -> None:
    x, w = s.shape(in_name(n, 0)), s.shape(in_name(n, _weights(n)))
    rows = None
    if x is not None and w is not None:
        k = w[1]
        if isinstance(k, int) and k and all(isinstance(d, int) for d in x):
            size = 1
            for d in x:
                size *= int(d)  # type: ignore[arg-type]
            rows = size // k
    s.set(out_name(n), s.dtype(in_name(n, 0)), None if w is None else (rows, w[0]))


@rule("Mean", "Sum")
def _mean(s: Scope, n: Node) -> None:
    x = s.shape(in_name(n, 0))
    if x is None:
        s.set(out_name(n), s.dtype(in_name(n, 0)), None)
        return
    axes = {norm_axis(int(a), len(x)) for a in n.attrs.get("axes", [])}
    keep = bool(n.attrs.get("keepdims", 0))
    shape = tuple(1 if i in axes else d for i, d in enumerate(x) if keep or i not in axes)
    s.set(out_name(n), s.dtype(in_name(n, 0)), shape)


@rule("Compare")
def _compare(s: Scope, n: Node) -> None:
    s.set(out_name(n), "bool", broadcast_shapes(s.shape(n.inputs[0]), s.shape(n.inputs[3])))


@rule("HybridSequenceLSTM")
def _hybrid_lstm(s: Scope, n: Node) -> None:
    x, h, c = (s.shape(in_name(n, i)) for i in range(3))
    y = None if x is None or h is None else (x[0], *h)
    for i, shape in enumerate((y, h, c)):
        s.set(out_name(n, i), "float32", shape)
