"""Gather from a dequantized table -> dequantize the gathered rows only (O2).

Rewrite: Gather(Mul(Cast(Q), S), ids, axis=0) (the Mul in either operand order, or no Mul) with Q
a constant table (e.g. int8 embeddings) becomes Mul(Cast(Gather(Q, ids)), S'), where S' is
Gather(S, ids) when S has Q's rank and one row per row of Q, else S itself (a scale that is the
same for every row). Each output element is computed by the same Cast and Mul from the same
values, so results are bit-identical; the work per run drops from the whole table (MiniLM-int8's
30522 x 384 word embeddings: a Cast and a Mul over 11.7 M elements) to the looked-up rows.
Constant folding leaves such tables alone when they are larger than its size limit.
Preconditions: Q and S are constants; the Cast and Mul outputs feed only this chain; the Gather is
on axis 0 (or -rank).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GraphView, iter_ops

NAME = "gather_pushdown"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    changed: list[str] = []
    for gather in iter_ops(graph, "Gather"):
        data, ids = gather.inputs[0], gather.inputs[1]
        mul = view.producer_of(data, "Mul")
        cast_out, scale = (data, None) if mul is None else _split_mul(view, mul)
        cast = view.producer_of(cast_out, "Cast") if cast_out else None
        if cast is None or (mul is not None and view.sole_consumer(data) is not gather):
            continue
        if view.sole_consumer(cast_out) is not (mul or gather):
            continue
        table = view.constant(cast.inputs[0])
        if table is None or table.ndim < 1 or _axis(gather, table.ndim) != 0:
            continue
        nodes: list[Node] = []
        rows = view.fresh(f"{gather.name}_rows")
        nodes.append(Node("Gather", [cast.inputs[0], ids], [rows], {"axis": 0}, rows))
        if mul is None:
            nodes.append(Node("Cast", [rows], [gather.outputs[0]], dict(cast.attrs), cast.name))
        else:
            s = view.constant(scale)  # type: ignore[arg-type]
            if s is None or not _scale_fits(s, table):
                continue
            deq = view.fresh(f"{gather.name}_dequantized")
            nodes.append(Node("Cast", [rows], [deq], dict(cast.attrs), cast.name))
            s_name = scale
            if s.ndim == table.ndim and s.shape[0] == table.shape[0] and table.shape[0] != 1:
                s_name = view.fresh(f"{gather.name}_scales")
                nodes.append(Node("Gather", [scale, ids], [s_name], {"axis": 0}, s_name))
            inputs = [deq, s_name] if mul.inputs[0] == cast_out else [s_name, deq]
            nodes.append(Node("Mul", inputs, [gather.outputs[0]], {}, mul.name))
        view.replace([gather], nodes)  # where the Gather stood: after the producer of its ids
        view.replace([cast] + ([mul] if mul is not None else []), [])
        changed.append(f"{gather.name}: {cast.inputs[0]} {list(table.shape)}")
    return changed


def _split_mul(view: GraphView, mul: Node) -> tuple[str | None, str | None]:
    """(the Cast output, the scale) of Mul(Cast(Q), S) in either order, else (None, None)."""
    a, b = mul.inputs[0], mul.inputs[1]
    if view.producer_of(a, "Cast") is not None and view.constant(b) is not None:
        return a, b
    if view.producer_of(b, "Cast") is not None and view.constant(a) is not None:
        return b, a
    return None, None


def _axis(gather: Node, rank: int) -> int:
    axis = int(gather.attrs.get("axis", 0))
    return axis + rank if axis < 0 else axis


def _scale_fits(s: np.ndarray, table: np.ndarray) -> bool:
    """S broadcasts onto Q and is either the same for every row or has one row per row."""
    if s.ndim > table.ndim:
        return False
    try:
        if np.broadcast_shapes(s.shape, table.shape) != table.shape:
            return False  # S would widen the result: not a per-element scale of Q
    except ValueError:
        return False
    return s.ndim < table.ndim or s.shape[0] in (1, table.shape[0])
