"""The values of a tensor that its readers can tell apart: where every reader saturates, the
quantisation range need not reach further.

HardSwish(x) is 0 for every x <= -3, HardSigmoid(x) = max(0, min(1, alpha x + beta)) is constant
below -beta / alpha and above (1 - beta) / alpha, Relu is 0 below 0, Clip(x, lo, hi) constant
outside [lo, hi]. A tensor read only by such ops (looking through data movement) can be clipped to
the hull of its readers' live domains before its range is chosen, with no error at all: a value
beyond the range saturates at its end, which every reader maps to the same output as the value
itself. The codes then cover only the part that matters (PP-LCNet's convolutions reach -30 before
a HardSwish, which zeroes all of it below -3: one code in ten was spent on it).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from .plan import DATA_MOVEMENT

Domain = tuple[float, float]
_OPEN: Domain = (-np.inf, np.inf)
# a domain's finite ends are moved out by this share of their magnitude: the code nearest a
# saturation point then dequantises beyond it, where every engine computes the reader's constant
# exactly (at -3 itself a HardSwish gives 0 or a few ulps, by how it is written)
EDGE_MARGIN = 0.01


def live_domains(graph: Graph, names: list[str]) -> dict[str, Domain]:
    """tensor -> (low, high) beyond which every reader of it saturates, for the tensors of
    `names` whose readers all saturate on at least one side (the others are absent)."""
    consumers: dict[str, list[Node]] = {}
    for n in graph.nodes:
        for i in n.inputs:
            if i:
                consumers.setdefault(i, []).append(n)
        for sub in n.subgraphs():
            for name in sub.free_names():
                consumers.setdefault(name, []).append(n)
    outputs = {v.name for v in graph.outputs}
    found: dict[str, Domain] = {}
    for name in names:
        domain = _domain(name, graph, consumers, outputs)
        if domain is not None and domain != _OPEN:
            low, high = domain
            found[name] = (low - EDGE_MARGIN * abs(low), high + EDGE_MARGIN * abs(high))
    return found


def clip_to_domains(
    ranges: dict[str, tuple[float, float]], domains: dict[str, Domain]
) -> dict[str, tuple[float, float]]:
    """`ranges` with each end pulled in to its tensor's live domain (0 stays inside)."""
    out = dict(ranges)
    for name, (low, high) in ranges.items():
        if name in domains:
            d_low, d_high = domains[name]
            out[name] = (min(max(low, d_low), 0.0), max(min(high, d_high), 0.0))
    return out


def _domain(
    name: str, graph: Graph, consumers: dict[str, list[Node]], outputs: set[str]
) -> Domain | None:
    """The hull of the live domains of every reader of `name`, or None where one reads it whole
    (a graph output, an op that does not saturate, or a constant saturation bound)."""
    low, high = np.inf, -np.inf
    stack, seen, readers = [name], set(), 0
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        if t in outputs:
            return None
        for n in consumers.get(t, []):
            if n.op_type in DATA_MOVEMENT and n.inputs and n.inputs[0] == t:
                stack.extend(o for o in n.outputs if o)
                continue
            if n.op_type in ("Shape", "Size"):
                continue  # reads no values
            d = _reader_domain(n, t, graph)
            if d is None:
                return None
            low, high = min(low, d[0]), max(high, d[1])
            readers += 1
    return (float(low), float(high)) if readers else None


def _reader_domain(node: Node, x: str, graph: Graph) -> Domain | None:
    """Where `node` is not constant in its input x (its first input), or None."""
    if node.domain not in ("", "ai.onnx") or not node.inputs or node.inputs[0] != x:
        return None
    if x in node.inputs[1:]:
        return None
    if node.op_type == "HardSwish":
        return (-3.0, np.inf)
    if node.op_type == "Relu":
        return (0.0, np.inf)
    if node.op_type == "HardSigmoid":
        alpha = float(node.attrs.get("alpha", 0.2))
        beta = float(node.attrs.get("beta", 0.5))
        if alpha == 0.0:
            return None
        ends = sorted(((0.0 - beta) / alpha, (1.0 - beta) / alpha))
        return (ends[0], ends[1])
    if node.op_type == "Clip":
        return _clip_domain(node, graph)
    return None


def _clip_domain(node: Node, graph: Graph) -> Domain | None:
    if "min" in node.attrs or "max" in node.attrs:  # before opset 11
        return (float(node.attrs.get("min", -np.inf)), float(node.attrs.get("max", np.inf)))
    bounds = []
    for i, default in ((1, -np.inf), (2, np.inf)):
        name = node.inputs[i] if len(node.inputs) > i else ""
        if not name:
            bounds.append(default)
        elif name in graph.initializers:
            bounds.append(float(np.asarray(graph.initializers[name]).reshape(())))
        else:
            return None  # a bound computed at run time
    return (bounds[0], bounds[1])
