"""Why the cython backend leaves some nodes to the reference on purpose: shape and mask arithmetic.

Shape, Size, Range and ConstantOfShape, and any node whose inputs and outputs are a handful of
int32/int64 values (the int64 Mul/Max/Concat of a Shape subgraph), compute a few values that
numpy gives in about a microsecond; a kernel call would cost as much and could not join a segment
anyway (its values are read by Python: Reshape's shape, Expand's target). So does a node computed
from the input shapes and constants only, whatever its size (an index grid from Range), and a
logic/comparison/gather node on bool and integer values only (an attention mask built from
`attention_mask`): no float work, numpy's own loop over bytes runs at memory speed, as a kernel
would. `gossamer explain` shows these reasons instead of a bare "no kernel for ...".
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
_SHAPE_DTYPES = frozenset({"int32", "int64"})  # int8/uint8 values are quantised data, not shapes
_SHAPE_SOURCES = frozenset({"Shape", "Size"})
_MASK_OPS = frozenset({"And", "Or", "Xor", "Not", "Equal", "Less", "LessOrEqual", "Greater",
                       "GreaterOrEqual", "Gather", "GatherND", "GatherElements",
                       "Where"})  # fmt: skip
_MASK_DTYPES = frozenset({"bool", "int32", "int64"})
_MASK_REASON = "would not pay: mask/index arithmetic on bool and integer values (no float work)"


def _small_integers(values: list[Value | None]) -> int | None:
    """Total elements if every value is a known-shape int32/int64 tensor of at most SMALL
    elements together, else None."""
    total = 0
    for v in values:
        if v is None or v.shape is None or v.dtype not in _SHAPE_DTYPES:
            return None
        if any(not isinstance(d, int) for d in v.shape):
            return None
        total += math.prod(v.shape)
    return total if values and total <= SMALL else None


def reason(
    op_type: str, outputs: list[Value | None], inputs: list[Value | None] | None = None
) -> str | None:
    """The 'would not pay' reason for a declined node, or None if a kernel might pay: shape ops,
    and nodes whose outputs and (given) inputs are a few int32/int64 values."""
    if op_type in _SHAPE_OPS:
        return f"would not pay: {_SHAPE_OPS[op_type]}"
    n = _small_integers(outputs)
    if n is not None and (inputs is None or _small_integers(inputs) is not None):
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
    from_shapes = shape_derived(graph)
    out: list[Claim | Decline] = []
    for v in verdicts:
        node = nodes.get(v.node) if isinstance(v, Decline) else None
        why = None
        if node is not None:
            outs = [types.get(o) for o in node.outputs if o]
            ins = [_value(types, graph, i) for i in node.inputs if i]
            why = reason(node.op_type, outs, ins)
            if why is None and node.outputs and all(o in from_shapes for o in node.outputs if o):
                why = "would not pay: computed from the input shapes and constants only"
            if why is None and node.op_type in _MASK_OPS and _all_dtypes(outs + ins, _MASK_DTYPES):
                why = _MASK_REASON
        out.append(Decline(v.node, why) if why else v)
    return out


def shape_derived(graph: Graph) -> set[str]:
    """Values computed from input shapes: Shape/Size outputs, and the outputs of nodes whose inputs
    are all initializers or such values, one at least such a value (topological order)."""
    derived: set[str] = set()
    for node in graph.topological_nodes():
        ins = [i for i in node.inputs if i]
        if node.op_type in _SHAPE_SOURCES or (
            any(i in derived for i in ins)
            and all(i in derived or i in graph.initializers for i in ins)
        ):
            derived |= {o for o in node.outputs if o}
    return derived


def _all_dtypes(values: list[Value | None], allowed: frozenset[str]) -> bool:
    return bool(values) and all(v is not None and v.dtype in allowed for v in values)


def _value(types: dict[str, Value], graph: Graph, name: str) -> Value | None:
    """The inferred value of `name`, or an initializer's own dtype and shape."""
    found = types.get(name)
    if found is None and name in graph.initializers:
        a = graph.initializers[name]
        found = Value(name, getattr(a.dtype, "name", None), tuple(a.shape))
    return found
