"""Transpose/Reshape cancellation (O3).

Rewrite: Transpose(Transpose(x, p1), p2) becomes Transpose(x, p) with p[i] = p1[p2[i]], and is
removed when p is the identity; Reshape(Reshape(x, s1), s2) becomes Reshape(x, s2). The inner node
stays while something else reads it (dead-node elimination removes it otherwise).
Preconditions: both Transposes give `perm` explicitly; the outer Reshape's shape is a constant
without 0 entries unless allowzero=1 (a 0 would copy a dim of its input, which changes).
"""

from __future__ import annotations

from ...refimpl.ir import Graph, Node
from .rewrite import GraphView, iter_ops

NAME = "transpose_reshape_cancellation"
LEVEL = 3


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    changed: list[str] = []
    for outer in iter_ops(graph, "Transpose", "Reshape"):
        if not view.alive(outer):
            continue
        inner = view.producer_of(outer.inputs[0], outer.op_type)
        if inner is None:
            continue
        if outer.op_type == "Transpose":
            p1, p2 = inner.attrs.get("perm"), outer.attrs.get("perm")
            if p1 is None or p2 is None or len(p1) != len(p2):
                continue
            perm = [int(p1[i]) for i in p2]
            if perm == list(range(len(perm))):
                if not view.bypass(outer, inner.inputs[0], outer.outputs[0]):
                    continue
            else:
                merged = Node("Transpose", [inner.inputs[0]], list(outer.outputs),
                              {"perm": perm}, outer.name)  # fmt: skip
                view.replace([outer], [merged])
        else:
            shape = view.constant(outer.inputs[1])
            if shape is None or (not outer.attrs.get("allowzero", 0) and (shape == 0).any()):
                continue
            view.set_input(outer, 0, inner.inputs[0])
        if not view.is_used(inner.outputs[0]):
            view.replace([inner], [])
        changed.append(f"{inner.name} . {outer.name}")
    return changed
