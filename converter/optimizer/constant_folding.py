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
Chains: a node held back by the size rule (Slices of one weight, each a part of it) is kept
aside with its value, and the constant nodes after it join it; at the end each connected group
of held nodes folds as one when the values it hands on take at most GROWTH_ALLOWANCE bytes more
than the constants only the group reads (Slice -> Concat gate reorders of an LSTM's weights:
as large as the weight they replace). A node is held only when its outputs are no larger than its
inputs (plus the allowance), so dequantising chains are not evaluated, and at most
MAX_HELD_BYTES of held values are kept.
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
MAX_HELD_BYTES = 64 * 2**20  # values of held nodes kept at once (past it, no more are held)
log = logging.getLogger(__name__)


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes: dict[str, Value] | None = None
    folded: list[str] = []
    held: list[Node] = []  # held back by the size rule, with their values in `pending`
    pending: dict[str, np.ndarray] = {}
    held_bytes = 0
    for node in graph.topological_nodes():
        if node.op_type in NONDETERMINISTIC_OPS or any(node.subgraphs()):
            continue
        names = [i for i in node.inputs if i]
        if not names and node.op_type != "Constant":
            continue
        # (Shape/Size of a held value: from its static shape, as of any non-constant tensor)
        shape_op = node.op_type in ("Shape", "Size") and is_standard(node)
        values = {n: view.constant(n) if shape_op or n not in pending else pending[n]
                  for n in names}  # fmt: skip
        if any(v is None for v in values.values()):
            if not shape_op:
                continue
            shapes = shapes if shapes is not None else infer_shapes(graph)
            outputs = _static_shape_of(node, shapes.get(node.inputs[0]))
        else:
            outputs = _evaluate(graph, node, values)
        if outputs is None or not all(_foldable(v) for v in outputs):
            continue
        reads_held = not shape_op and any(n in pending for n in names)
        if reads_held or _growth(view, node, outputs) > GROWTH_ALLOWANCE:
            size = sum(np.asarray(v).nbytes for v in values.values())
            made = sum(v.nbytes for v in outputs)
            if made <= size + GROWTH_ALLOWANCE and held_bytes + made <= MAX_HELD_BYTES:
                held_bytes += made
                held.append(node)
                pending.update((n, v) for n, v in zip(node.outputs, outputs) if n)
            else:
                log.debug("not folding %s: it would make the model larger", node.label())
            continue
        view.replace([node], [])
        for name, value in zip(node.outputs, outputs):
            if name:
                graph.initializers[name] = value
        folded.append(node.name)
    folded += _fold_groups(view, held, pending)
    return folded


def _fold_groups(view: GraphView, held: list[Node], pending: dict[str, np.ndarray]) -> list[str]:
    """Folds each connected group of held nodes whose folding does not make the model larger."""
    group = {id(n): i for i, n in enumerate(held)}  # union-find over held nodes

    def root(i: int) -> int:
        while group[id(held[i])] != i:
            i = group[id(held[i])]
        return i

    made = {o: i for i, n in enumerate(held) for o in n.outputs if o}
    for i, node in enumerate(held):
        for name in node.inputs:
            if name in made:
                a, b = root(i), root(made[name])
                if a != b:
                    group[id(held[a])] = b
    groups: dict[int, list[Node]] = {}
    for i, node in enumerate(held):
        groups.setdefault(root(i), []).append(node)
    folded: list[str] = []
    for nodes in groups.values():
        ids = {id(n) for n in nodes}
        handed = [o for n in nodes for o in n.outputs if o and not _read_only_by(view, o, ids)]
        freed = _freed(view, [i for n in nodes for i in n.inputs if i not in made], ids)
        if sum(pending[o].nbytes for o in handed) - freed > GROWTH_ALLOWANCE:
            log.debug("not folding %s: it would make the model larger", nodes[-1].label())
            continue
        view.replace(nodes, [])
        for name in handed:
            view.graph.initializers[name] = pending[name]
        folded += [n.name for n in nodes]
    return folded


def _freed(view: GraphView, names: list[str], ids: set[int]) -> int:
    """Bytes of the initializers among `names` that only the nodes in `ids` read: what folding
    those nodes frees."""
    return sum(
        np.asarray(view.graph.initializers[name]).nbytes
        for name in dict.fromkeys(names)
        if name in view.graph.initializers and name not in view.feedable
        and _read_only_by(view, name, ids)
    )  # fmt: skip


def _read_only_by(view: GraphView, name: str, ids: set[int]) -> bool:
    """Whether only the nodes in `ids` read `name` (no graph output, body or other node)."""
    users = view.consumers.get(name, [])
    return (
        name not in view.outputs and name not in view.body_reads
        and all(id(u) in ids for u in users)
    )  # fmt: skip


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
    return sum(v.nbytes for v in outputs) - _freed(view, node.inputs, {id(node)})


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
