"""Conv + residual Add fusion (O2).

Rewrite: Add(Conv(x, W, b), z) becomes gossamer::FusedConv(x, W, b, "", z; conv attributes), i.e.
Conv(x, W, b) + z computed in the convolution's epilogue (ResNet's shortcut). The activation pass
that runs next then fuses a following Relu: FusedConv(...; activation="Relu") = Relu(Conv + z).
FusedConv adds z after the bias as the Add did, so results are bit-identical.
Preconditions: the Conv (ai.onnx, or a gossamer FusedConv without activation and residual) feeds
only this Add; z has exactly the Conv output's shape (statically known, no broadcasting) and dtype.
When both Add inputs are such Convs and one is a shortcut of the other (its input x is an ancestor
of the other's: ResNet's downsampling 1x1 beside the block's two or three convs), the main branch's
last conv takes the Add and the shortcut conv moves to just before x's first reader: it reads x
while the block before has just written it (in cache), where the order as exported ran it after
the main branch, x long evicted (ResNet-18 / -50 whole runs 0.94-0.98 of that order, same bits:
the epilogue's sum of the two convs' outputs is the same either way round). Otherwise the one
listed first is fused.
"""

from __future__ import annotations

from collections.abc import Callable

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GOSSAMER_DOMAIN, GraphView, iter_ops, other_input, use_gossamer_domain

NAME = "residual_fusion"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    return fuse_residual_adds(graph, _fusable, _fused_conv, shortcut_first=True)


def fuse_residual_adds(
    graph: Graph,
    fusable: Callable[[Node], bool],
    fused: Callable[[Node, str, str], Node],
    dtype_ok: Callable[[str | None], bool] = lambda dtype: True,
    shortcut_first: bool = False,
) -> list[str]:
    """Replaces each Add(p, z) whose p is a `fusable` node read by that Add alone, z of exactly
    p's static shape and dtype (`dtype_ok`), by fused(p, z, the Add's output); of two such
    inputs, the first, unless `shortcut_first` and the other's producer is a shortcut of the
    first's (see the module docstring): then the first is z, and its producer moves to run
    before the main branch. Returns "p + Add" per fusion (this pass and
    matmul_residual_fusion)."""
    view = GraphView(graph)
    values = infer_shapes(graph)
    done: list[str] = []
    for add in iter_ops(graph, "Add"):
        if len(set(add.inputs)) != 2:
            continue
        candidates = []
        for y in add.inputs:
            producer = view.producer.get(y)
            z = other_input(add, y)
            if producer is None or z is None or not fusable(producer):
                continue
            if view.sole_consumer(y) is not add:
                continue
            if not _same_static_type(values.get(y), values.get(z)) or not dtype_ok(values[y].dtype):
                continue
            candidates.append((y, producer, z))
        if not candidates:
            continue
        y, producer, z = candidates[0]
        shortcut = None
        if shortcut_first and len(candidates) == 2:
            other = candidates[1][1]
            if _feeds(view, other.inputs[0], producer):  # the second is the first's shortcut
                shortcut = other
            elif _feeds(view, producer.inputs[0], other):
                (y, producer, z), shortcut = candidates[1], producer
        view.replace([producer, add], [fused(producer, z, add.outputs[0])])
        if shortcut is not None:
            _move_before_first_reader(view, shortcut)
        done.append(f"{producer.name} + {add.name}")
    if done:
        use_gossamer_domain(graph)
    return done


ANCESTRY_DEPTH = 8  # producers walked back from a main branch looking for the shortcut's input


def _feeds(view: GraphView, x: str, node: Node) -> bool:
    """Whether `x` is read by `node` or by a producer of its inputs, ANCESTRY_DEPTH steps back."""
    frontier, seen = [node], set()
    for _ in range(ANCESTRY_DEPTH):
        ahead = []
        for n in frontier:
            for name in n.inputs:
                if name == x:
                    return True
                producer = view.producer.get(name) if name else None
                if producer is not None and id(producer) not in seen:
                    seen.add(id(producer))
                    ahead.append(producer)
        frontier = ahead
    return False


def _move_before_first_reader(view: GraphView, node: Node) -> None:
    """Moves `node` to just before the first other node that reads its input 0 (graph order)."""
    x = node.inputs[0]
    nodes = view.graph.nodes
    at = next(i for i, n in enumerate(nodes) if n is not node and x in n.inputs)
    here = next(i for i, n in enumerate(nodes) if n is node)
    if here > at:
        del nodes[here]
        nodes.insert(at, node)


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
