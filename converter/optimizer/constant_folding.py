"""Constant folding (O1).

Rewrite: a node whose inputs are all constants (initializers that no feed can override, or outputs
of Constant nodes) is run once with its reference function and replaced by initializers holding its
outputs; a Constant node becomes an initializer; Shape/Size of a tensor whose shape is fully static
(inferred from the declared input shapes, which feeds must match) become constants too.
Preconditions: the op is deterministic (no Random*, Multinomial, Bernoulli, Dropout), has no graph
attribute, resolves in the registry at the model's opset, and every output is a plain tensor of at
most MAX_FOLDED_BYTES.
Size rule: folding must not make the model larger. A node is folded only when its outputs take at
most GROWTH_ALLOWANCE bytes more than the constant inputs that only it reads (folding frees those).
So dequantisation stays in the graph: Cast(int8 weights) -> Mul(scale) or DequantizeLinear of
int8/int4 weights (4-8x the bytes), and Cast of float16 weights (2x), keep the model's compact
weights (MiniLM-int8 would grow from 23 MB to 55 MB), and once the Cast stays the Mul after it has
a non-constant input and stays too; likewise Expand/Tile/ConstantOfShape that materialise big
tensors. Shape arithmetic, Transpose/Reshape of weights and products of a weight with a scalar
are no larger than their inputs (or within the allowance) and fold as before; Constant nodes move
their value into an initializer and always fold.
"""

from __future__ import annotations

import logging

import numpy as np

from ...refimpl.errors import GossamerError
from ...refimpl.interpreter import Program
from ...refimpl.ir import Graph, Node, Value
from ...refimpl.registry import NONDETERMINISTIC_OPS
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GraphView, is_standard

NAME = "constant_folding"
LEVEL = 1
MAX_FOLDED_BYTES = 16 * 2**20
GROWTH_ALLOWANCE = 4096  # bytes a fold may add: shape vectors, small masks and index tables
log = logging.getLogger(__name__)


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes: dict[str, Value] | None = None
    folded: list[str] = []
    for node in graph.topological_nodes():
        if node.op_type in NONDETERMINISTIC_OPS or any(node.subgraphs()):
            continue
        names = [i for i in node.inputs if i]
        if not names and node.op_type != "Constant":
            continue
        values = {n: view.constant(n) for n in names}
        if any(v is None for v in values.values()):
            if node.op_type not in ("Shape", "Size") or not is_standard(node):
                continue
            shapes = shapes if shapes is not None else infer_shapes(graph)
            outputs = _static_shape_of(node, shapes.get(node.inputs[0]))
        else:
            outputs = _evaluate(graph, node, values)
        if outputs is None or not all(_foldable(v) for v in outputs):
            continue
        if _growth(view, node, outputs) > GROWTH_ALLOWANCE:
            log.debug("not folding %s: it would make the model larger", node.label())
            continue
        view.replace([node], [])
        for name, value in zip(node.outputs, outputs):
            if name:
                graph.initializers[name] = value
        folded.append(node.name)
    return folded


def _evaluate(graph: Graph, node: Node, values: dict[str, np.ndarray]) -> list[np.ndarray] | None:
    single = Graph(
        nodes=[node],
        inputs=[],
        outputs=[Value(o) for o in node.outputs if o],
        initializers=dict(values),
        opsets=graph.opsets,
    )
    try:
        env = Program(single).run({})
    except (GossamerError, ValueError, TypeError, ArithmeticError) as err:
        log.debug("not folding %s: %s", node.label(), err)
        return None
    return [env.get(o) for o in node.outputs if o]


def _growth(view: GraphView, node: Node, outputs: list[np.ndarray]) -> int:
    """Bytes the model gains when `node` is folded: its outputs, less the inputs only it reads."""
    if node.op_type == "Constant" and is_standard(node):
        return 0  # the value moves from the node's attribute into an initializer
    freed = sum(
        np.asarray(view.graph.initializers[name]).nbytes
        for name in dict.fromkeys(node.inputs)
        if name in view.graph.initializers and view.sole_consumer(name) is node
    )
    return sum(v.nbytes for v in outputs) - freed


def _static_shape_of(node: Node, value: Value | None) -> list[np.ndarray] | None:
    if value is None or value.kind != "tensor" or value.shape is None:
        return None
    if not all(isinstance(d, int) for d in value.shape):
        return None
    dims = np.array(value.shape, dtype=np.int64)
    if node.op_type == "Size":
        return [np.array(int(np.prod(dims)), dtype=np.int64)]
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    return [dims[start:end]]


def _foldable(value: object) -> bool:
    return (
        isinstance(value, np.ndarray)
        and value.dtype != np.dtype(object)
        and value.nbytes <= MAX_FOLDED_BYTES
    )
