"""Dead-node elimination (O1).

Rewrite: nodes none of whose outputs is read (by a node, a nested body or the graph outputs) are
removed, last first, so whole dead chains go in one sweep; then initializers nobody reads are
dropped. Preconditions: none; graph inputs are kept even when unused (they are the model's
interface), and so are initializers that double as inputs (a feed may override them).
"""

from __future__ import annotations

from ...refimpl.ir import Graph
from .rewrite import GraphView

NAME = "dead_node_elimination"
LEVEL = 1


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    removed: list[str] = []
    for node in reversed(graph.topological_nodes()):
        if not any(view.is_used(o) for o in node.outputs if o):
            view.replace([node], [])
            removed.append(node.name)
    unused = [n for n in graph.initializers if not view.is_used(n) and n not in view.feedable]
    for name in unused:
        del graph.initializers[name]
    if unused:
        removed.append(f"{len(unused)} unused initializer(s), e.g. {unused[0]!r}")
    return removed
