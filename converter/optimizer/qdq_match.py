"""Reading QDQ patterns: the integer tensor behind a DequantizeLinear, and the QuantizeLinear (after
an optional Relu/Clip) that a float result feeds, with their constant quantisation parameters.

Used by qdq_to_qoperator. A quantisation step is one unit of the integer tensor; a monotone float
function f commutes with quantisation q (q(f(y)) = f_q(q(y))), which is what makes Relu and Clip
exact in the integer domain: q(relu(y)) = max(q(y), q(0)) = max(q(y), zero_point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...refimpl.dtypes import NUMPY_DTYPES, ONNX_TYPE_CODES, to_numpy
from ...refimpl.ir import Node
from ...refimpl.ops._quant_linear import quantize
from .rewrite import GraphView, default_opset, is_standard

EIGHT_BIT = frozenset({np.dtype(np.int8), np.dtype(np.uint8)})
_INTEGER = EIGHT_BIT | {np.dtype(t) for t in (np.int16, np.uint16, np.int32)}
_FLT_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class QTensor:
    """An integer tensor and the constant parameters a DQ or Q node gives it:
    real = (name - zero_point) * scale, per tensor (axis None) or along `axis`."""

    name: str
    dtype: np.dtype
    scale: np.ndarray  # float32
    zero_point: np.ndarray  # of `dtype`, shaped like scale
    axis: int | None
    scale_name: str
    zero_point_name: str  # "" when the node leaves it out (zero)

    @property
    def eight_bit(self) -> bool:
        return self.dtype in EIGHT_BIT

    def same_params(self, other: QTensor) -> bool:
        """Both per tensor with equal dtype, scale and zero point: the integers mean the same."""
        return (
            self.axis is None
            and other.axis is None
            and self.dtype == other.dtype
            and float(self.scale.reshape(-1)[0]) == float(other.scale.reshape(-1)[0])
            and int(self.zero_point.reshape(-1)[0]) == int(other.zero_point.reshape(-1)[0])
        )

    def bounds(self) -> tuple[int, int]:
        info = np.iinfo(self.dtype)
        return int(info.min), int(info.max)

    def quantize(self, real: float) -> int:
        """q(real) exactly as this tensor's QuantizeLinear computes it (float32 division)."""
        value = quantize(np.array(real, np.float32), self.scale, self.zero_point.astype(self.dtype))
        return int(value.reshape(-1)[0])


@dataclass(frozen=True)
class QOutput:
    """Where a float result `y` goes: Q(y) or Q(act(y)); `clip` is the integer range the
    activation still imposes after quantisation (None when Q's own saturation already does it)."""

    nodes: list[Node]  # the activation (if any) and the QuantizeLinear, in order
    q: QTensor
    clip: tuple[int, int] | None


def dequantized(view: GraphView, name: str) -> QTensor | None:
    """The integer tensor `name` is DequantizeLinear'd from, with constant parameters."""
    dq = view.producer_of(name, "DequantizeLinear")
    if dq is None or dq.attrs.get("block_size", 0) or dq.attrs.get("output_dtype", 0) not in (0, 1):
        return None
    data = dq.inputs[0]
    zp = view.constant(dq.inputs[2]) if len(dq.inputs) > 2 and dq.inputs[2] else None
    dtype = zp.dtype if zp is not None else _dtype_of(view, data)
    return _params(view, dq, data, dtype) if dtype is not None else None


def quantized_output(view: GraphView, y: str) -> QOutput | None:
    """The QuantizeLinear that is the only reader of `y`, directly or through Relu/Clip."""
    reader = view.sole_consumer(y)
    act = None
    if reader is not None and is_standard(reader) and reader.op_type in ("Relu", "Clip"):
        if reader.inputs[0] != y:
            return None
        act, reader = reader, view.sole_consumer(reader.outputs[0])
    if reader is None or not is_standard(reader) or reader.op_type != "QuantizeLinear":
        return None
    q = _quantize_params(view, reader)
    if q is None or q.axis is not None:
        return None
    if act is None:
        return QOutput([reader], q, None)
    bounds = activation_range(view, act, q)
    if bounds is None:
        return None
    qmin, qmax = q.bounds()
    if bounds[0] <= qmin and bounds[1] >= qmax:
        return QOutput([act, reader], q, None)
    if default_opset(view.graph) < 12:  # integer Clip needs Clip-12
        return None
    return QOutput([act, reader], q, bounds)


def _quantize_params(view: GraphView, q_node: Node) -> QTensor | None:
    if q_node.attrs.get("block_size", 0) or q_node.attrs.get("precision", 0):
        return None
    zp = q_node.inputs[2] if len(q_node.inputs) > 2 else ""
    if zp:
        value = view.constant(zp)
        dtype = value.dtype if value is not None else None
    else:
        code = ONNX_TYPE_CODES.get(q_node.attrs.get("output_dtype", 0) or 2, "")
        dtype = np.dtype(NUMPY_DTYPES[code]) if code in NUMPY_DTYPES else None
    if dtype is None:
        return None
    return _params(view, q_node, q_node.outputs[0], dtype)


def _params(view: GraphView, node: Node, data: str, dtype: np.dtype) -> QTensor | None:
    scale = view.constant(node.inputs[1])
    zp_name = node.inputs[2] if len(node.inputs) > 2 else ""
    if scale is None:
        return None
    zp = view.constant(zp_name) if zp_name else np.zeros(scale.shape, dtype)
    if zp is None or dtype not in _INTEGER or scale.dtype != np.float32:
        return None
    if zp.dtype != dtype or zp.size != scale.size or scale.ndim > 1:
        return None
    zp = zp.reshape(scale.shape)
    if not np.all(np.isfinite(scale)) or not np.all(scale > 0):
        return None
    axis = None if scale.size == 1 else int(node.attrs.get("axis", 1))
    return QTensor(data, dtype, scale, zp, axis, node.inputs[1], zp_name)


def _dtype_of(view: GraphView, name: str) -> np.dtype | None:
    """The dtype of an integer tensor: a constant's, a QuantizeLinear's target, or declared."""
    value = view.constant(name)
    if value is not None:
        return value.dtype
    if name in view.graph.quant:
        return np.asarray(view.graph.quant[name].zero_point).dtype
    producer = view.producer_of(name, "QuantizeLinear")
    if producer is not None:
        q = _quantize_params(view, producer)
        return q.dtype if q is not None else None
    declared = view.graph.value_info.get(name) or next(
        (v for v in view.graph.inputs + view.graph.outputs if v.name == name), None
    )
    if declared is None or declared.dtype is None:
        return None
    return np.dtype(to_numpy(declared.dtype))


def activation_range(view: GraphView, act: Node, q: QTensor) -> tuple[int, int] | None:
    """The integer range [lo, hi] of q(act(y)) = clip(q(y), lo, hi) for a Relu or Clip `act`
    (the whole range of q's type when the activation vanishes); None if a bound is not constant."""
    if act.op_type == "Relu":
        low, high = 0.0, np.inf
    elif default_opset(view.graph) < 11:
        low = float(act.attrs.get("min", -_FLT_MAX))
        high = float(act.attrs.get("max", _FLT_MAX))
    else:
        values: list[float] = []
        for i, default in ((1, -np.inf), (2, np.inf)):
            name = act.inputs[i] if i < len(act.inputs) else ""
            value = view.scalar(name) if name else default
            if value is None:
                return None
            values.append(value)
        low, high = values
    qmin, qmax = q.bounds()
    lo = qmin if low == -np.inf else max(q.quantize(low), qmin)
    hi = qmax if high == np.inf else min(q.quantize(high), qmax)
    return lo, hi
