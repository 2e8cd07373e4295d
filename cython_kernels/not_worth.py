"""Why the cython backend leaves some nodes to the reference on purpose: shape arithmetic.

Shape, Size, Range and ConstantOfShape, and any node whose outputs are a handful of integers or
bools (the int64 Mul/Max/Concat/Cast of a Shape subgraph), compute a few values that numpy gives
in about a microsecond; a kernel call would cost as much and could not join a segment anyway (its
values are read by Python: Reshape's shape, Expand's target). `gossamer explain` shows this reason
instead of a bare "no kernel for ...".
"""

from __future__ import annotations

import math

from ..plugins.backend import Claim, Decline
from ..refimpl.ir import Graph, Value

# most elements a node's integer outputs may hold to count as shape arithmetic
SMALL = 64
_SHAPE_OPS = {
    "Shape": "it reads only the input's shape",
    "Size": "it reads only the input's shape",
    "Range": "a short sequence from three scalars (shape arithmetic)",
    "ConstantOfShape": "a fill sized by a shape tensor (shape arithmetic)",
}
_INTEGER = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})


def _small_integers(values: list[Value | None]) -> int | None:
    """Total elements if every value is a known-shape integer/bool tensor of at most SMALL
    elements together, else None."""
    total = 0
    for v in values:
        if v is None or v.shape is None or v.dtype not in _INTEGER | {"bool"}:
            return None
        if any(not isinstance(d, int) for d in v.shape):
            return None
        total += math.prod(v.shape)
    return total if values and total <= SMALL else None


def reason(op_type: str, outputs: list[Value | None]) -> str | None:
    """The 'would not pay' reason for a declined node, or None if a kernel might pay."""
    if op_type in _SHAPE_OPS:
        return f"would not pay: {_SHAPE_OPS[op_type]}"
    n = _small_integers(outputs)
    if n is not None:
        dtypes = sorted({v.dtype for v in outputs if v is not None and v.dtype})
        plural = "" if n == 1 else "s"
        return f"would not pay: shape arithmetic on {n} {'/'.join(dtypes)} element{plural}"
    return None


def explain_declines(graph: Graph, verdicts: list[Claim | Decline]) -> list[Claim | Decline]:
    """verdicts with each Decline of a shape-arithmetic node given the reason above."""
    if not any(isinstance(v, Decline) for v in verdicts):
        return verdicts
    from ..refimpl.shape_inference import infer_shapes

    types = infer_shapes(graph)
    nodes = {n.name: n for n in graph.nodes}
    out: list[Claim | Decline] = []
    for v in verdicts:
        node = nodes.get(v.node) if isinstance(v, Decline) else None
        why = reason(node.op_type, [types.get(o) for o in node.outputs if o]) if node else None
        out.append(Decline(v.node, why) if why else v)
    return out
