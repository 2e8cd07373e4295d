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
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.registry import NONDETERMINISTIC_OPS

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
_MASK_REASON = (
    "would not pay: mask/index arithmetic on bool and integer values computed from integer "
    "inputs (no float work)"
)
MASK_SMALL = 1 << 16  # most elements a mask node's known-size values may hold together


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
    """verdicts with each Decline of a shape- or mask-arithmetic node given its reason above."""
    if not any(isinstance(v, Decline) for v in verdicts):
        return verdicts
    from ..refimpl.shape_inference import infer_shapes

    order = graph.topological_nodes()  # (the inference, when not cached, and both walks below)
    types = infer_shapes(graph, order)
    nodes = {n.name: n for n in graph.nodes}
    shapes = {o for n in graph.nodes if n.op_type in _SHAPE_SOURCES for o in n.outputs if o}
    from_shapes = derived_from(graph, shapes, order)
    integer_inputs = {v.name for v in graph.inputs if v.dtype in _MASK_DTYPES}
    from_integers = derived_from(graph, shapes | integer_inputs, order)
    out: list[Claim | Decline] = []
    for v in verdicts:
        node = nodes.get(v.node) if isinstance(v, Decline) else None
        why = None
        if node is not None:
            outs = [types.get(o) for o in node.outputs if o]
            ins = [_value(types, graph, i) for i in node.inputs if i]
            why = reason(node.op_type, outs, ins)
            named = [o for o in node.outputs if o]
            if why is None and named and all(o in from_shapes for o in named):
                why = "would not pay: computed from the input shapes and constants only"
            if (
                why is None
                and node.op_type in _MASK_OPS
                and named
                and all(o in from_integers for o in named)
                and _all_dtypes(outs + ins, _MASK_DTYPES)
                and _at_most(outs + ins, MASK_SMALL)
            ):
                why = _MASK_REASON
        out.append(Decline(v.node, why) if why else v)
    return out


def derived_from(graph: Graph, sources: set[str], order: list[Node] | None = None) -> set[str]:
    """Values computed from `sources` and initializers alone (one source at least): `sources`
    and the outputs of deterministic nodes without bodies whose inputs are all such values or
    initializers (topological order: `order` where the caller has it)."""
    derived = set(sources)
    for node in graph.topological_nodes() if order is None else order:
        ins = [i for i in node.inputs if i]
        if (
            ins
            and node.op_type not in NONDETERMINISTIC_OPS
            and not any(node.subgraphs())
            and any(i in derived for i in ins)
            and all(i in derived or i in graph.initializers for i in ins)
        ):
            derived |= {o for o in node.outputs if o}
    return derived


def _at_most(values: list[Value | None], limit: int) -> bool:
    """Whether the values with a known shape hold at most `limit` elements together (a symbolic
    dim, e.g. a sequence length, is taken as small: the rule is for masks over it)."""
    known = [v.shape for v in values if v is not None and v.shape is not None]
    sized = [s for s in known if all(isinstance(d, int) for d in s)]
    return sum(math.prod(s) for s in sized) <= limit  # type: ignore[arg-type]


def _all_dtypes(values: list[Value | None], allowed: frozenset[str]) -> bool:
    return bool(values) and all(v is not None and v.dtype in allowed for v in values)


def _value(types: dict[str, Value], graph: Graph, name: str) -> Value | None:
    """The inferred value of `name`, or an initializer's own dtype and shape."""
    found = types.get(name)
    if found is None and name in graph.initializers:
        a = graph.initializers[name]
        found = Value(name, getattr(a.dtype, "name", None), tuple(a.shape))
    return found
