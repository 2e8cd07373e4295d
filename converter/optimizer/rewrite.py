"""What every pass needs to read and edit a graph safely: producers, consumers, constants, names.

A `GraphView` indexes the top-level graph once; a pass matches patterns against it, edits the
graph through its methods (which keep the indexes current) and never touches nested bodies except
to rename the outer names they read. Passes only rewrite the top-level graph.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Iterator

import numpy as np

from ...refimpl.ir import Graph, Node, Value

GOSSAMER_DOMAIN = "gossamer"


def copy_graph(graph: Graph) -> Graph:
    """A copy whose node lists and attributes can be edited; initializer arrays are shared."""
    nodes = [
        Node(
            n.op_type,
            list(n.inputs),
            list(n.outputs),
            {k: copy.deepcopy(v) if _has_graph(v) else v for k, v in n.attrs.items()},
            n.name,
            n.domain,
        )
        for n in graph.nodes
    ]
    return Graph(
        nodes=nodes,
        inputs=[copy.copy(v) for v in graph.inputs],
        outputs=[copy.copy(v) for v in graph.outputs],
        initializers=dict(graph.initializers),
        name=graph.name,
        opsets=dict(graph.opsets),
        value_info=dict(graph.value_info),
        metadata=dict(graph.metadata),
        model_info=dict(graph.model_info),
        quant=dict(graph.quant),
        state=list(graph.state),
    )


def drop_unused_initializers(g: Graph) -> None:
    """Removes initializers no node, body or output reads (e.g. weights a rewrite replaced)."""
    used = {i for n in g.nodes for i in n.inputs} | {v.name for v in g.outputs}
    used |= {v.name for v in g.inputs}
    for n in g.nodes:
        for sub in n.subgraphs():
            used |= sub.free_names()
    for name in [k for k in g.initializers if k not in used]:
        del g.initializers[name]


def _has_graph(value: object) -> bool:
    return isinstance(value, Graph) or (
        isinstance(value, list) and any(isinstance(v, Graph) for v in value)
    )


def default_opset(graph: Graph) -> int:
    return graph.opsets.get("", graph.opsets.get("ai.onnx", 1))


def is_standard(node: Node) -> bool:
    return node.domain in ("", "ai.onnx")


class GraphView:
    """Producer, consumers and constants of the names of one (top-level) graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.producer: dict[str, Node] = {}
        self.consumers: dict[str, list[Node]] = defaultdict(list)
        self.body_reads: set[str] = set()  # names read from inside nested bodies
        for node in graph.nodes:
            self._index(node)
        self.outputs = {v.name for v in graph.outputs}
        self.feedable = {v.name for v in graph.inputs}
        self._taken = graph.produced_names() | {v.name for v in graph.outputs}
        self._taken |= {n.name for n in graph.nodes}

    def _index(self, node: Node) -> None:
        for out in node.outputs:
            if out:
                self.producer[out] = node
        for name in node.inputs:  # (by identity: Node's dataclass == compares every field)
            if name:
                users = self.consumers[name]
                if not any(user is node for user in users):
                    users.append(node)
        for sub in node.subgraphs():
            self.body_reads |= sub.free_names()

    def _unindex(self, node: Node) -> None:
        for out in node.outputs:
            if self.producer.get(out) is node:
                del self.producer[out]
        for name in node.inputs:
            users = self.consumers.get(name) if name else None
            if users:
                users[:] = [user for user in users if user is not node]

    # ---- queries ---------------------------------------------------------------------------------
    def constant(self, name: str) -> np.ndarray | None:
        """The value of `name` if it is fixed: an initializer no feed overrides, or a Constant."""
        if not name:
            return None
        if name in self.graph.initializers and name not in self.feedable:
            return np.asarray(self.graph.initializers[name])
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant" and is_standard(node):
            value = node.attrs.get("value")
            if isinstance(value, np.ndarray):
                return value
        return None

    def scalar(self, name: str) -> float | None:
        """The value of a constant with exactly one element, as a Python float."""
        value = self.constant(name)
        if value is None or value.size != 1 or value.dtype.kind not in "fiu":
            return None
        return float(value.reshape(()))

    def alive(self, node: Node) -> bool:
        """False once a rewrite has removed `node` from the graph."""
        return any(self.producer.get(o) is node for o in node.outputs if o)

    def is_used(self, name: str) -> bool:
        return bool(self.consumers.get(name)) or name in self.outputs or name in self.body_reads

    def sole_consumer(self, name: str) -> Node | None:
        """The one node reading `name`, if nothing else (graph output, body, other node) does."""
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.outputs or name in self.body_reads:
            return None
        return users[0]

    def producer_of(self, name: str, op_type: str) -> Node | None:
        node = self.producer.get(name)
        if node is not None and node.op_type == op_type and is_standard(node):
            return node
        return None

    # ---- edits -----------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        """A value or node name not used anywhere in the graph."""
        candidate, i = base, 0
        while candidate in self._taken:
            i += 1
            candidate = f"{base}_{i}"
        self._taken.add(candidate)
        return candidate

    def add_initializer(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.graph.initializers[name] = value
        return name

    def replace(self, old: Iterable[Node], new: Iterable[Node]) -> None:
        """Removes the `old` nodes and puts the `new` ones where the first old one stood."""
        old = list(old)
        new = list(new)
        gone = {id(n) for n in old}
        nodes = self.graph.nodes
        places = [i for i, n in enumerate(nodes) if id(n) in gone]  # one pass (a pass rewrites
        for node in old:  # node by node: its replaces are what its time grows with)
            self._unindex(node)
        for i in reversed(places):
            del nodes[i]
        # the first old node's place: no old node stands before it (none: at the end)
        at = places[0] if places else len(nodes)
        nodes[at:at] = new
        for node in new:
            self._index(node)
            self._taken |= {o for o in node.outputs if o} | {node.name}

    def set_input(self, node: Node, index: int, name: str) -> None:
        self._unindex(node)
        node.inputs[index] = name
        self._index(node)

    def bypass(self, node: Node, keep: str, drop: str) -> bool:
        """Removes `node`, whose output `drop` equals its input `keep`; False if impossible.

        Readers of `drop` read `keep` instead. When `drop` is a graph output, `keep` is renamed to
        `drop` instead, which needs `keep` to be produced by a node and to be no graph output.
        """
        if drop in self.outputs:
            if keep in self.outputs or keep not in self.producer or keep in self.feedable:
                return False
            self.replace([node], [])
            self.rename(keep, drop)
            return True
        self.replace([node], [])
        self.rename(drop, keep)
        return True

    def rename(self, old: str, new: str) -> None:
        """Every producer and reader of `old` (nested bodies included) uses `new` instead."""
        for node in list(self.graph.nodes):
            if old in node.inputs or old in node.outputs or any(node.subgraphs()):
                self._unindex(node)
                node.inputs[:] = [new if i == old else i for i in node.inputs]
                node.outputs[:] = [new if o == old else o for o in node.outputs]
                for sub in node.subgraphs():
                    _rename_free(sub, old, new)
                self._index(node)
        if old in self.body_reads:
            self.body_reads.discard(old)
            self.body_reads.add(new)
        self._taken.add(new)


def _rename_free(graph: Graph, old: str, new: str) -> None:
    if old in graph.produced_names():
        return  # the body defines its own `old`: not an outer reference
    for node in graph.nodes:
        node.inputs[:] = [new if i == old else i for i in node.inputs]
        for sub in node.subgraphs():
            _rename_free(sub, old, new)
    for v in graph.outputs:
        if v.name == old:
            v.name = new


def node_named(view: GraphView, op_type: str, inputs: list[str], outputs: list[str],
               base: str, domain: str = "", **attrs: object) -> Node:  # fmt: skip
    """A new node with a fresh name derived from `base`."""
    return Node(op_type, inputs, outputs, dict(attrs), view.fresh(base), domain)


def other_input(node: Node, name: str) -> str | None:
    """For a binary node reading `name` once, its other input (None if it reads `name` twice)."""
    if len(node.inputs) != 2 or node.inputs.count(name) != 1:
        return None
    return node.inputs[1] if node.inputs[0] == name else node.inputs[0]


def near(value: float | None, target: float, *, abs_tol: float = 0.0, rel_tol: float = 0.0) -> bool:
    """value is within max(abs_tol, rel_tol * max(1, |target|)) of target (None: no)."""
    tol = max(abs_tol, rel_tol * max(1.0, abs(target)))
    return value is not None and abs(value - target) <= tol


def is_scalar(
    view: GraphView, name: str | None, target: float, *, abs_tol: float = 0.0, rel_tol: float = 0.0
) -> bool:
    """`name` is a constant with one element, near `target` (see near)."""
    value = view.scalar(name) if name else None
    return near(value, target, abs_tol=abs_tol, rel_tol=rel_tol)


def divided_by(
    view: GraphView, node: Node, divisor: float, *, abs_tol: float = 0.0, rel_tol: float = 0.0
) -> str | None:
    """x when the standard-domain `node` computes x / divisor: Div(x, divisor), or a Mul of x by
    1/divisor in either operand order; else None. The constants are compared with near()."""
    tol = {"abs_tol": abs_tol, "rel_tol": rel_tol}
    if not is_standard(node):
        return None
    if node.op_type == "Div":
        return node.inputs[0] if is_scalar(view, node.inputs[1], divisor, **tol) else None
    if node.op_type == "Mul":
        for x, c in (node.inputs, node.inputs[::-1]):
            if is_scalar(view, c, 1 / divisor, **tol):
                return x
    return None


def conv_weights(view: GraphView, conv: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """(W, bias as a flat vector: zeros when the Conv has none) of a Conv whose W is a float
    constant and whose bias, if any, is a constant of W's dtype with one value per output
    channel; None otherwise (or when W's output channels do not split into its groups)."""
    w = view.constant(conv.inputs[1]) if len(conv.inputs) > 1 else None
    if w is None or w.dtype not in (np.float32, np.float64) or w.ndim < 3:
        return None
    group = int(conv.attrs.get("group", 1) or 1)
    if group < 1 or w.shape[0] % group:
        return None
    if len(conv.inputs) > 2 and conv.inputs[2]:
        b = view.constant(conv.inputs[2])
        if b is None or b.size != w.shape[0] or b.dtype != w.dtype:
            return None
        return w, b.reshape(-1)
    return w, np.zeros(w.shape[0], w.dtype)


def use_gossamer_domain(graph: Graph) -> None:
    graph.opsets.setdefault(GOSSAMER_DOMAIN, 1)


def live_value_info(graph: Graph) -> dict[str, Value]:
    names = graph.produced_names()
    return {k: v for k, v in graph.value_info.items() if k in names}


def iter_ops(graph: Graph, *op_types: str) -> Iterator[Node]:
    """Standard-domain nodes of the given types, in graph order (a snapshot: safe to edit)."""
    for node in list(graph.nodes):
        if node.op_type in op_types and is_standard(node):
            yield node
