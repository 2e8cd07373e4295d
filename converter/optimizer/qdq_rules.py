"""The requantising rewrites of qdq_to_qoperator: DQ -> float op -> Q becomes one QLinear op.

Each rule takes the float node and returns (the integer node, where its outputs go, a note for the
report) or None when the pattern does not fit; the node's outputs are filled in by the pass. The
integer node keeps the float node's name. Biases become int32 with scale x_scale * w_scale (see
int32_bias).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...refimpl.ir import Node
from ...refimpl.ops._quant_linear import dequantize
from ...refimpl.registry import default_registry
from .qdq_match import QOutput, QTensor, dequantized, quantized_output
from .rewrite import GraphView

MS_DOMAIN = "com.microsoft"
Rewrite = tuple[Node, list[QOutput], str]
Rule = Callable[[GraphView, Node], Rewrite | None]
_INT32 = np.iinfo(np.int32)


def ms_op_defined(op_type: str) -> bool:
    """The reference defines com.microsoft::op_type (so the rewritten graph runs here too)."""
    return default_registry().resolve(MS_DOMAIN, op_type, 1) is not None


def zero_point(view: GraphView, q: QTensor) -> str:
    """The name of q's zero point; a new zero constant when its node left it out."""
    if q.zero_point_name:
        return q.zero_point_name
    return view.add_initializer(f"{q.name}_zero_point", np.zeros((), q.dtype))


def qparams(view: GraphView, q: QTensor) -> list[str]:
    return [q.scale_name, zero_point(view, q)]


def int32_bias(
    view: GraphView, name: str, acc_scale: np.ndarray, size: int, *, factor: float = 1.0
) -> tuple[str, str] | None:
    """The bias `name` as an int32 vector of `size` at scale acc_scale (scalar or per channel),
    and how it got there. A DQ'd int32 bias whose zero point is 0 and whose scale equals acc_scale
    (float32, as onnxruntime's quantizer writes it) is kept as it is (exact); any other bias,
    factor * its real value, is quantised as onnxruntime's quantize_bias_static does:
    round half to even of real / acc_scale in float64, saturated to int32."""
    target = np.broadcast_to(acc_scale.reshape(-1), (size,))
    b = dequantized(view, name)
    if b is not None:
        data = view.constant(b.name)
        if data is None or b.dtype != np.int32 or data.size not in (1, size) or data.ndim > 2:
            return None
        scale = np.broadcast_to(b.scale.reshape(-1), (size,))
        if factor == 1.0 and not np.any(b.zero_point) and np.array_equal(scale, target):
            exact = np.broadcast_to(data.reshape(-1), (size,))
            kept = b.name if data.shape == (size,) else view.add_initializer(name, exact.copy())
            return kept, "int32 bias kept"
        axis = 0 if b.axis is None else b.axis
        real = dequantize(data, b.scale, b.zero_point, axis=axis).astype(np.float64)
    else:
        value = view.constant(name)
        if (
            value is None
            or value.dtype.kind != "f"
            or value.size not in (1, size)
            or value.ndim > 2
        ):
            return None
        real = value.astype(np.float64)
    real = np.broadcast_to(real.reshape(-1), (size,)) * factor
    quantized = np.clip(np.round(real / target.astype(np.float64)), _INT32.min, _INT32.max)
    return view.add_initializer(f"{name}_int32", quantized.astype(np.int32)), "bias requantised"


def _activation(view: GraphView, name: str) -> QTensor | None:
    """A per-tensor 8-bit DQ'd input."""
    x = dequantized(view, name)
    return x if x is not None and x.axis is None and x.eight_bit else None


def _output(view: GraphView, node: Node) -> QOutput | None:
    out = quantized_output(view, node.outputs[0]) if len(node.outputs) == 1 else None
    return out if out is not None and out.q.eight_bit else None


def _weight(view: GraphView, name: str, channel_axis: int) -> tuple[QTensor, np.ndarray] | None:
    """A constant 8-bit DQ'd weight, per tensor or per channel along `channel_axis`."""
    w = dequantized(view, name)
    value = view.constant(w.name) if w is not None else None
    if w is None or value is None or not w.eight_bit:
        return None
    if w.axis is not None and w.axis % value.ndim != channel_axis % value.ndim:
        return None
    return w, value


def conv(view: GraphView, node: Node) -> Rewrite | None:
    x, out = _activation(view, node.inputs[0]), _output(view, node)
    weight = _weight(view, node.inputs[1], 0)
    if x is None or out is None or weight is None:
        return None
    w, value = weight
    bias: tuple[str, str] | None = ("", "")
    if len(node.inputs) > 2 and node.inputs[2]:
        acc_scale = x.scale.reshape(()) * w.scale
        bias = int32_bias(view, node.inputs[2], acc_scale, value.shape[0])
    if bias is None:
        return None
    inputs = [x.name, *qparams(view, x), w.name, *qparams(view, w), *qparams(view, out.q)]
    inputs += [bias[0]] if bias[0] else []
    return Node("QLinearConv", inputs, [""], dict(node.attrs), node.name), [out], bias[1]


def matmul(view: GraphView, node: Node) -> Rewrite | None:
    a, out = _activation(view, node.inputs[0]), _output(view, node)
    b = dequantized(view, node.inputs[1])
    if a is None or out is None or b is None or not b.eight_bit:
        return None
    if b.axis is not None:  # per column: only for a constant 2-D B, along its columns
        value = view.constant(b.name)
        if value is None or value.ndim != 2 or b.axis % 2 != 1:
            return None
    inputs = [a.name, *qparams(view, a), b.name, *qparams(view, b), *qparams(view, out.q)]
    return Node("QLinearMatMul", inputs, [""], {}, node.name), [out], ""


def gemm(view: GraphView, node: Node) -> Rewrite | None:
    """Gemm -> com.microsoft::QGemm: Y = alpha * A' B' + C with C in int32 at a_scale * b_scale *
    alpha (so beta * C is folded into the int32 bias)."""
    a, out = _activation(view, node.inputs[0]), _output(view, node)
    trans_b = int(node.attrs.get("transB", 0))
    weight = _weight(view, node.inputs[1], 0 if trans_b else 1)
    if a is None or out is None or weight is None or not ms_op_defined("QGemm"):
        return None
    b, value = weight
    if value.ndim != 2:
        return None
    alpha, beta = float(node.attrs.get("alpha", 1.0)), float(node.attrs.get("beta", 1.0))
    bias: tuple[str, str] | None = ("", "")
    if len(node.inputs) > 2 and node.inputs[2] and beta != 0.0:
        acc_scale = a.scale.reshape(()) * b.scale * np.float32(alpha)
        n = value.shape[0] if trans_b else value.shape[1]
        bias = int32_bias(view, node.inputs[2], acc_scale, n, factor=beta)
    if bias is None:
        return None
    inputs = [a.name, *qparams(view, a), b.name, *qparams(view, b), bias[0], *qparams(view, out.q)]
    attrs = {"alpha": alpha, "transA": int(node.attrs.get("transA", 0)), "transB": trans_b}
    return Node("QGemm", inputs, [""], attrs, node.name, MS_DOMAIN), [out], bias[1]


def binary(view: GraphView, node: Node) -> Rewrite | None:
    """Add / Mul -> com.microsoft::QLinearAdd / QLinearMul."""
    op = f"QLinear{node.op_type}"
    a, b = _activation(view, node.inputs[0]), _activation(view, node.inputs[1])
    out = _output(view, node)
    if a is None or b is None or out is None or not a.dtype == b.dtype == out.q.dtype:
        return None
    if not ms_op_defined(op):
        return None
    inputs = [a.name, *qparams(view, a), b.name, *qparams(view, b), *qparams(view, out.q)]
    return Node(op, inputs, [""], {}, node.name, MS_DOMAIN), [out], ""


def concat(view: GraphView, node: Node) -> Rewrite | None:
    """Concat -> plain integer Concat when every input has the output's parameters (exact), else
    com.microsoft::QLinearConcat."""
    parts = [dequantized(view, name) for name in node.inputs]
    out = quantized_output(view, node.outputs[0])
    if out is None or any(p is None or p.axis is not None for p in parts):
        return None
    attrs = dict(node.attrs)
    if all(p.same_params(out.q) for p in parts if p is not None):
        return Node("Concat", [p.name for p in parts if p], [""], attrs, node.name), [out], "exact"
    if not out.q.eight_bit or any(p.dtype != out.q.dtype for p in parts if p is not None):
        return None
    if not ms_op_defined("QLinearConcat"):
        return None
    inputs = qparams(view, out.q)
    for p in parts:
        if p is not None:
            inputs += [p.name, *qparams(view, p)]
    return Node("QLinearConcat", inputs, [""], attrs, node.name, MS_DOMAIN), [out], ""


def unary(view: GraphView, node: Node) -> Rewrite | None:
    """AveragePool, GlobalAveragePool, Sigmoid, LeakyRelu -> com.microsoft::QLinear<op>."""
    op = f"QLinear{node.op_type}"
    x, out = _activation(view, node.inputs[0]), _output(view, node)
    if x is None or out is None or x.dtype != out.q.dtype or not ms_op_defined(op):
        return None
    attrs = dict(node.attrs)
    if node.op_type == "AveragePool":
        if any(d != 1 for d in attrs.pop("dilations", [])):
            return None
        attrs["channels_last"] = 0
    elif node.op_type == "GlobalAveragePool":
        attrs["channels_last"] = 0
    elif node.op_type == "LeakyRelu":
        attrs["alpha"] = float(attrs.get("alpha", 0.01))
    inputs = [x.name, *qparams(view, x), *qparams(view, out.q)]
    return Node(op, inputs, [""], attrs, node.name, MS_DOMAIN), [out], ""


RULES: dict[str, Rule] = {
    "Conv": conv,
    "MatMul": matmul,
    "Gemm": gemm,
    "Add": binary,
    "Mul": binary,
    "Concat": concat,
    "AveragePool": unary,
    "GlobalAveragePool": unary,
    "Sigmoid": unary,
    "LeakyRelu": unary,
}
