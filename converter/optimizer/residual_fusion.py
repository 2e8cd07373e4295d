"""Conv + residual Add fusion (O2).

Rewrite: Add(Conv(x, W, b), z) becomes gossamer::FusedConv(x, W, b, "", z; conv attributes), i.e.
Conv(x, W, b) + z computed in the convolution's epilogue (ResNet's shortcut). The activation pass
that runs next then fuses a following Relu: FusedConv(...; activation="Relu") = Relu(Conv + z).
FusedConv adds z after the bias as the Add did, so results are bit-identical.
Preconditions: the Conv (ai.onnx, or a gossamer FusedConv without activation and residual) feeds
only this Add; z has exactly the Conv output's shape (statically known, no broadcasting) and dtype;
when both Add inputs are such Convs, the one listed first is fused.
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GOSSAMER_DOMAIN, GraphView, iter_ops, other_input, use_gossamer_domain

NAME = "residual_fusion"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    values = infer_shapes(graph)
    fused: list[str] = []
    for add in iter_ops(graph, "Add"):
        if len(set(add.inputs)) != 2:
            continue
        for y in add.inputs:
            conv = view.producer.get(y)
            z = other_input(add, y)
            if conv is None or z is None or not _fusable(conv) or view.sole_consumer(y) is not add:
                continue
            if not _same_static_type(values.get(y), values.get(z)):
                continue
            inputs = list(conv.inputs) + [""] * (3 - len(conv.inputs))
            inputs = inputs[:3] + [inputs[3] if len(inputs) > 3 else "", z]
            attrs = dict(conv.attrs)
            node = Node("FusedConv", inputs, [add.outputs[0]], attrs, conv.name, GOSSAMER_DOMAIN)
            view.replace([conv, add], [node])
            fused.append(f"{conv.name} + {add.name}")
            break
    if fused:
        use_gossamer_domain(graph)
    return fused


def _fusable(node: Node) -> bool:
    if node.op_type == "Conv" and node.domain in ("", "ai.onnx"):
        return True
    return (
        node.op_type == "FusedConv"
        and node.domain == GOSSAMER_DOMAIN
        and not node.attrs.get("activation")
        and (len(node.inputs) < 5 or not node.inputs[4])
    )


def _same_static_type(a: Value | None, b: Value | None) -> bool:
    if a is None or b is None or a.shape is None or b.shape is None:
        return False
    static = all(isinstance(d, int) for d in a.shape)
    return static and tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype is not None
