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

from collections.abc import Callable

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GOSSAMER_DOMAIN, GraphView, iter_ops, other_input, use_gossamer_domain

NAME = "residual_fusion"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    return fuse_residual_adds(graph, _fusable, _fused_conv)


def fuse_residual_adds(
    graph: Graph,
    fusable: Callable[[Node], bool],
    fused: Callable[[Node, str, str], Node],
    dtype_ok: Callable[[str | None], bool] = lambda dtype: True,
) -> list[str]:
    """Replaces each Add(p, z) whose p is a `fusable` node read by that Add alone, z of exactly
    p's static shape and dtype (`dtype_ok`), by fused(p, z, the Add's output); of two such
    inputs, the first. Returns "p + Add" per fusion (this pass and matmul_residual_fusion)."""
    view = GraphView(graph)
    values = infer_shapes(graph)
    done: list[str] = []
    for add in iter_ops(graph, "Add"):
        if len(set(add.inputs)) != 2:
            continue
        for y in add.inputs:
            producer = view.producer.get(y)
            z = other_input(add, y)
            if producer is None or z is None or not fusable(producer):
                continue
            if view.sole_consumer(y) is not add:
                continue
            if not _same_static_type(values.get(y), values.get(z)) or not dtype_ok(values[y].dtype):
                continue
            view.replace([producer, add], [fused(producer, z, add.outputs[0])])
            done.append(f"{producer.name} + {add.name}")
            break
    if done:
        use_gossamer_domain(graph)
    return done


def _fused_conv(conv: Node, z: str, out: str) -> Node:
    inputs = list(conv.inputs) + [""] * (3 - len(conv.inputs))
    inputs = inputs[:3] + [inputs[3] if len(inputs) > 3 else "", z]
    return Node("FusedConv", inputs, [out], dict(conv.attrs), conv.name, GOSSAMER_DOMAIN)


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
