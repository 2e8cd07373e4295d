"""Hard-swish and hard-sigmoid patterns -> HardSwish / HardSigmoid (O2).

Rewrite: x * Clip(x + 3, 0, 6) / 6 (how PaddlePaddle and older PyTorch exports spell hardswish; the
Mul and the Add in either operand order, the division also as a Mul by 1/6) becomes HardSwish(x)
(gossamer::HardSwish below opset 14); Clip(x + 3, 0, 6) / 6 becomes HardSigmoid(x; alpha=1/6,
beta=0.5), and x * that HardSigmoid becomes HardSwish(x) too. HardSwish computes
x * max(0, min(1, x/6 + 1/2)): equal up to rounding (a few ulp). The activation pass then fuses them
into a preceding Conv/Gemm/MatMul.
Preconditions: 3, 0, 6 and 6 (or 1/6) are constant scalars; every intermediate of the pattern
feeds only the next node of it; Clip's bounds are constant inputs (opset >= 11) or attributes.
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node
from .rewrite import (
    GOSSAMER_DOMAIN,
    GraphView,
    default_opset,
    divided_by,
    is_scalar,
    iter_ops,
    near,
    use_gossamer_domain,
)

NAME = "hardswish_fusion"
LEVEL = 2
_SIXTH = 1.0 / 6.0
_TOL = 1e-6  # relative tolerance of the pattern's constants


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    opset = default_opset(graph)
    hswish = "" if opset >= 14 else GOSSAMER_DOMAIN  # ai.onnx HardSwish exists from opset 14
    fused: list[str] = []
    for clip in iter_ops(graph, "Clip"):
        if not view.alive(clip) or not _bounds_are_0_6(view, clip, opset):
            continue
        add = view.producer_of(clip.inputs[0], "Add")
        x = _other_than(view, add, 3.0) if add is not None else None
        if add is None or x is None or view.sole_consumer(add.outputs[0]) is not clip:
            continue
        step = view.sole_consumer(clip.outputs[0])
        if step is None:
            continue
        if step.op_type == "Mul" and sorted(step.inputs) == sorted([x, clip.outputs[0]]):
            scale = view.sole_consumer(step.outputs[0])
            if scale is None or not _is_div_by_6(view, scale, step.outputs[0]):
                continue
            node = Node("HardSwish", [x], [scale.outputs[0]], {}, scale.name, hswish)
            view.replace([add, clip, step, scale], [node])
            fused.append(f"{add.name} .. {scale.name} (HardSwish)")
        elif _is_div_by_6(view, step, clip.outputs[0]):
            attrs = {"alpha": _SIXTH, "beta": 0.5}
            mul = view.sole_consumer(step.outputs[0])
            if (
                mul is not None
                and mul.op_type == "Mul"
                and sorted(mul.inputs) == sorted([x, step.outputs[0]])
            ):
                node = Node("HardSwish", [x], [mul.outputs[0]], {}, mul.name, hswish)
                view.replace([add, clip, step, mul], [node])
                fused.append(f"{add.name} .. {mul.name} (HardSwish)")
            else:
                node = Node("HardSigmoid", [x], [step.outputs[0]], attrs, step.name)
                view.replace([add, clip, step], [node])
                fused.append(f"{add.name} .. {step.name} (HardSigmoid)")
    if hswish and any(n.op_type == "HardSwish" and n.domain == hswish for n in graph.nodes):
        use_gossamer_domain(graph)
    return fused


def _other_than(view: GraphView, node: Node, constant: float) -> str | None:
    """The input of a binary node whose other input is the scalar `constant`."""
    a, b = (list(node.inputs) + ["", ""])[:2]
    if is_scalar(view, b, constant, rel_tol=_TOL) and a and a != b:
        return a
    if is_scalar(view, a, constant, rel_tol=_TOL) and b and a != b:
        return b
    return None


def _bounds_are_0_6(view: GraphView, clip: Node, opset: int) -> bool:
    if opset < 11:
        a = clip.attrs
        return near(a.get("min"), 0.0, rel_tol=_TOL) and near(a.get("max"), 6.0, rel_tol=_TOL)
    names = (list(clip.inputs) + ["", ""])[1:3]
    return all(n and is_scalar(view, n, v, rel_tol=_TOL) for n, v in zip(names, (0.0, 6.0)))


def _is_div_by_6(view: GraphView, node: Node, value: str) -> bool:
    """node computes value / 6 (Div by 6, or Mul by 1/6 in either order)."""
    return divided_by(view, node, 6.0, rel_tol=_TOL) == value
