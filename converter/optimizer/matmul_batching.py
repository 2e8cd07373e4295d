"""Several MatMuls sharing an input -> one MatMul + Split (O3).

Rewrite: MatMul(x, B1), ..., MatMul(x, Bn) (or gossamer::FusedMatMul(x, Bi, bi) from bias fusion,
all with the same activation) become one MatMul/FusedMatMul(x, [B1 .. Bn], [b1 .. bn]) on weights
concatenated along their last axis, followed by Split(axis=-1, split=[N1 .. Nn]) into the original
output names. One wide product replaces n narrow ones (the Q, K, V projections of attention).
Equal up to rounding (the product may be blocked differently).
Preconditions: every Bi is a 2-D float constant with the same row count and dtype; biases are
constants of shape [Ni], given for all or for none; no PRelu activation (its slope is per branch).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GOSSAMER_DOMAIN, GraphView, default_opset

NAME = "matmul_batching"
LEVEL = 3


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    groups: dict[tuple, list[Node]] = defaultdict(list)
    for node in graph.nodes:
        key = _key(view, node)
        if key is not None:
            groups[key].append(node)
    changed: list[str] = []
    for key, members in groups.items():
        if len(members) < 2:
            continue
        weights = [view.constant(n.inputs[1]) for n in members]
        widths = [int(w.shape[1]) for w in weights]
        inputs = [members[0].inputs[0], view.add_initializer(
            f"{members[0].inputs[1]}_batched", np.concatenate(weights, axis=1))]  # fmt: skip
        if key[2]:
            biases = [view.constant(n.inputs[2]).reshape(-1) for n in members]
            inputs.append(view.add_initializer(f"{members[0].name}_bias_batched",
                                               np.concatenate(biases)))  # fmt: skip
        wide = view.fresh(f"{members[0].outputs[0]}_batched")
        first = members[0]
        product = Node(first.op_type, inputs, [wide], dict(first.attrs), first.name, first.domain)
        split = _split(view, wide, widths, [n.outputs[0] for n in members], default_opset(graph))
        view.replace(members, [product, split])
        changed.append(f"{len(members)} x {first.op_type} on {first.inputs[0]!r}: " + ", ".join(
            n.name for n in members))  # fmt: skip
    return changed


def _key(view: GraphView, node: Node) -> tuple | None:
    if node.op_type == "MatMul" and node.domain in ("", "ai.onnx"):
        has_bias, act = False, ()
    elif node.op_type == "FusedMatMul" and node.domain == GOSSAMER_DOMAIN:
        if len(node.inputs) > 3 or node.attrs.get("activation") == "PRelu":
            return None
        has_bias = len(node.inputs) > 2 and bool(node.inputs[2])
        act = (node.attrs.get("activation", ""), tuple(node.attrs.get("activation_params") or ()))
    else:
        return None
    w = view.constant(node.inputs[1])
    if w is None or w.ndim != 2 or w.dtype.kind != "f":
        return None
    if has_bias:
        b = view.constant(node.inputs[2])
        if b is None or b.shape != (w.shape[1],) or b.dtype != w.dtype:
            return None
    return (node.inputs[0], node.op_type, has_bias, act, w.shape[0], str(w.dtype))


def _split(view: GraphView, wide: str, widths: list[int], outs: list[str], opset: int) -> Node:
    name = view.fresh(f"{wide}_split")
    if opset < 13:
        return Node("Split", [wide], outs, {"axis": -1, "split": widths}, name)
    sizes = view.add_initializer(f"{wide}_sizes", np.array(widths, dtype=np.int64))
    return Node("Split", [wide, sizes], outs, {"axis": -1}, name)
