"""Shape and dtype inference over the IR (placeholder: a helper is writing the real one)."""

from __future__ import annotations

from .ir import Graph, Value


def infer_shapes(graph: Graph) -> dict[str, Value]:
    """Inferred Value (dtype, shape) for every name in the graph that can be inferred."""
    return {v.name: v for v in graph.inputs}
