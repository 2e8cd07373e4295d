"""Conv / Gemm / MatMul + activation fusion (O2).

Rewrite: Act(Conv(x, W, b)) becomes gossamer::FusedConv(x, W, b[, slope]; conv attributes,
activation="Act", activation_params=[...]); likewise Gemm -> gossamer::FusedGemm and MatMul (or a
FusedMatMul from bias fusion) -> gossamer::FusedMatMul. Act is one of Relu, Clip (Relu6),
HardSigmoid, HardSwish, Sigmoid, LeakyRelu, PRelu (its slope becomes the fused op's last input),
Swish and HardSwish (ai.onnx or gossamer) and Gelu (approximate="none"); the fused ops apply the
activation with the very reference functions of the unfused ops, so results are bit-identical
(ai.onnx Swish-24 is the one exception: it rounds differently from x * Sigmoid(x)).
Preconditions: the producer's output feeds only the activation; a fused producer has no activation
yet; Clip bounds are constants; Gemm/MatMul results are of a float dtype (a constant B shows it).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GOSSAMER_DOMAIN, GraphView, default_opset, use_gossamer_domain

NAME = "activation_fusion"
LEVEL = 2
_FLT_MAX = 3.4028234663852886e38
_FUSED = {"Conv": "FusedConv", "Gemm": "FusedGemm", "MatMul": "FusedMatMul"}
_ACTIVATIONS = frozenset(
    "Relu Clip HardSigmoid HardSwish Sigmoid LeakyRelu PRelu Swish Gelu".split()
)


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    opset = default_opset(graph)
    fused: list[str] = []
    for act in list(graph.nodes):
        if act.op_type not in _ACTIVATIONS or act.domain not in ("", "ai.onnx", GOSSAMER_DOMAIN):
            continue
        if act.domain == GOSSAMER_DOMAIN and act.op_type not in ("Swish", "Gelu", "HardSwish"):
            continue
        producer = view.producer.get(act.inputs[0])
        if producer is None or view.sole_consumer(act.inputs[0]) is not act:
            continue
        base = _fusable_base(view, producer)
        params = _params(view, act, opset)
        if base is None or params is None:
            continue
        inputs = list(producer.inputs)
        if act.op_type == "PRelu":  # the slope is input 3 (a FusedConv residual stays input 4)
            inputs = inputs + [""] * (4 - len(inputs))
            inputs[3] = act.inputs[1]
        attrs = dict(producer.attrs) | {"activation": act.op_type}
        if params:
            attrs["activation_params"] = params
        node = Node(base, inputs, [act.outputs[0]], attrs, producer.name, GOSSAMER_DOMAIN)
        view.replace([producer, act], [node])
        fused.append(f"{producer.name} + {act.name} ({act.op_type})")
    if fused:
        use_gossamer_domain(graph)
    return fused


def _fusable_base(view: GraphView, producer: Node) -> str | None:
    """The fused op type the producer becomes, or None if it cannot take an activation."""
    if producer.domain == GOSSAMER_DOMAIN and producer.op_type in _FUSED.values():
        return producer.op_type if not producer.attrs.get("activation") else None
    if producer.domain not in ("", "ai.onnx") or producer.op_type not in _FUSED:
        return None
    if producer.op_type != "Conv":
        weight = view.constant(producer.inputs[1])
        if weight is None or weight.dtype.kind != "f":
            return None
    return _FUSED[producer.op_type]


def _params(view: GraphView, act: Node, opset: int) -> list[float] | None:
    """activation_params of the fused op ([] when none), or None if `act` cannot be fused."""
    op, attrs = act.op_type, act.attrs
    if op == "Clip":
        if opset < 11:
            return [float(attrs.get("min", -_FLT_MAX)), float(attrs.get("max", _FLT_MAX))]
        bounds = []
        for i, default in ((1, -np.inf), (2, np.inf)):
            name = act.inputs[i] if i < len(act.inputs) else ""
            value = view.scalar(name) if name else default
            if value is None:
                return None
            bounds.append(value)
        return bounds
    if op == "HardSigmoid":
        return [float(attrs.get("alpha", 0.20000000298023224)), float(attrs.get("beta", 0.5))]
    if op == "LeakyRelu":
        return [float(attrs.get("alpha", 0.01))]
    if op == "Swish":
        return [float(attrs.get("alpha", 1.0))]
    if op == "Gelu" and attrs.get("approximate", "none") != "none":
        return None
    return []
