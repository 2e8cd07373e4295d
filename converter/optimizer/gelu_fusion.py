"""GELU fusion from its Erf pattern (O3).

Rewrite: x * 0.5 * (1 + Erf(x / sqrt 2)) becomes Gelu(x) (approximate="none"), in the orderings
exporters produce: Mul(Mul(x, u), 0.5), Mul(Mul(x, 0.5), u) and Mul(x, Mul(u, 0.5)) with
u = Add(Erf(t), 1) and t = Div(x, sqrt 2) or Mul(x, 1/sqrt 2), operands of Mul/Add in either order.
The node is ai.onnx Gelu when the model's opset is at least 20; older models get gossamer::Gelu,
the same function registered in Gossamer's own domain, so no other op changes meaning by an opset
bump. Equal up to rounding (Gelu evaluates the formula in float64 and rounds once).
Preconditions: the constants are scalars within 1e-4 of sqrt 2, 1/sqrt 2, 1 and 0.5; every
intermediate feeds only the next node of the pattern.
"""

from __future__ import annotations

import math

from ...refimpl.ir import Graph, Node
from .rewrite import (
    GOSSAMER_DOMAIN,
    GraphView,
    default_opset,
    divided_by,
    is_scalar,
    iter_ops,
    other_input,
    use_gossamer_domain,
)

NAME = "gelu_fusion"
LEVEL = 3
_TOL = 1e-4  # absolute tolerance of the pattern's constants (0.5, 1, sqrt 2)


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    standard = default_opset(graph) >= 20
    fused: list[str] = []
    for erf in iter_ops(graph, "Erf"):
        match = _match(view, erf)
        if match is None:
            continue
        x, chain, out = match
        domain = "" if standard else GOSSAMER_DOMAIN
        node = Node("Gelu", [x], [out], {}, erf.name, domain)
        view.replace(chain, [node])
        fused.append(f"{erf.name} ({len(chain)} nodes)")
    if fused and not standard:
        use_gossamer_domain(graph)
    return fused


def _match(view: GraphView, erf: Node) -> tuple[str, list[Node], str] | None:
    scaled = view.producer.get(erf.inputs[0])
    if scaled is None or view.sole_consumer(erf.inputs[0]) is not erf:
        return None
    x = _divided_by_sqrt2(view, scaled)
    add = _sole(view, erf, "Add")
    if x is None or add is None or not _is_const(view, other_input(add, erf.outputs[0]), 1.0):
        return None
    u = add.outputs[0]
    mul = _sole(view, add, "Mul")
    other = other_input(mul, u) if mul else None
    if other is None:
        return None
    head = [scaled, erf, add, mul]
    if other == x:  # Mul(Mul(x, u), 0.5)
        last = _sole(view, mul, "Mul")
        if last is not None and _is_const(view, other_input(last, mul.outputs[0]), 0.5):
            return x, head + [last], last.outputs[0]
        return None
    if _is_const(view, other, 0.5):  # Mul(x, Mul(u, 0.5))
        last = _sole(view, mul, "Mul")
        if last is not None and other_input(last, mul.outputs[0]) == x:
            return x, head + [last], last.outputs[0]
        return None
    half = view.producer_of(other, "Mul")  # Mul(Mul(x, 0.5), u)
    if half is None or view.sole_consumer(other) is not mul or other_input(half, x) is None:
        return None
    if not _is_const(view, other_input(half, x), 0.5):
        return None
    return x, head + [half], mul.outputs[0]


def _divided_by_sqrt2(view: GraphView, node: Node) -> str | None:
    """x when node is Div(x, sqrt 2) or Mul(x, 1/sqrt 2), else None."""
    return divided_by(view, node, math.sqrt(2), abs_tol=_TOL)


def _is_const(view: GraphView, name: str | None, target: float) -> bool:
    return is_scalar(view, name, target, abs_tol=_TOL)


def _sole(view: GraphView, node: Node, op_type: str) -> Node | None:
    user = view.sole_consumer(node.outputs[0])
    if user is None or user.op_type != op_type or user.domain not in ("", "ai.onnx"):
        return None
    return user
