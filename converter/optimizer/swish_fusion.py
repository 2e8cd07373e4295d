"""Sigmoid · Mul -> Swish (O2).

Rewrite: Mul(x, Sigmoid(x)) (either operand order) becomes Swish(x, alpha=1): ai.onnx Swish when
the model's opset is at least 24, else gossamer::Swish, which computes x * Sigmoid(x) exactly as the
two reference ops do (ai.onnx Swish-24 evaluates x / (1 + e^-x): equal up to rounding).
Preconditions: the Sigmoid's output feeds only this Mul.
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node
from .rewrite import GOSSAMER_DOMAIN, GraphView, default_opset, iter_ops, use_gossamer_domain

NAME = "swish_fusion"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    standard = default_opset(graph) >= 24
    fused: list[str] = []
    for sigmoid in iter_ops(graph, "Sigmoid"):
        x, y = sigmoid.inputs[0], sigmoid.outputs[0]
        mul = view.sole_consumer(y)
        if mul is None or mul.op_type != "Mul" or sorted(mul.inputs) != sorted([x, y]) or x == y:
            continue
        domain = "" if standard else GOSSAMER_DOMAIN
        swish = Node("Swish", [x], [mul.outputs[0]], {"alpha": 1.0}, mul.name, domain)
        view.replace([sigmoid, mul], [swish])
        fused.append(f"{sigmoid.name} * {mul.name}")
    if fused and not standard:
        use_gossamer_domain(graph)
    return fused
