"""The graph IR: Value, Node, Graph.

A Graph is a list of Nodes in any order, named graph inputs/outputs (Values), initializers (numpy
arrays) and the opset imports. A Node's attribute may hold a nested Graph (If/Loop/Scan bodies);
such a body may read names of the enclosing graphs (outer-scope references). Empty input names mean
"optional input not given", as in ONNX. A top-level Graph may list `state` (StateBinding): values
kept between runs, read from some of its inputs and written to some of its outputs, so the graph
itself stays a pure function.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import GraphValidationError

Dim = int | str | None  # a fixed size, a symbolic name, or unknown

# The domain of the one node the planner fuses each granted partition into (op "Partition"); it
# lives with the IR because every layer that reads an execution graph must recognise it.
PARTITION_DOMAIN = "gossamer.partition"


class Scope:
    """Names visible in a graph: its own plus those of every enclosing graph (never copied, so
    checking deeply nested bodies stays linear in the model size)."""

    def __init__(self, names: Iterable[str] = (), parent: Scope | None = None) -> None:
        self.names = set(names)
        self.parent = parent

    def __contains__(self, name: object) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True
            scope = scope.parent
        return False


def _scope(outer: Scope | Iterable[str] | None) -> Scope:
    return outer if isinstance(outer, Scope) else Scope(outer or ())


@dataclass
class Value:
    """A named, typed slot: graph input/output or an intermediate with inferred type.

    kind is "tensor", "sequence" (of tensors of `dtype`) or "optional" (of a tensor of `dtype`).
    shape None means the rank is unknown.
    """

    name: str
    dtype: str | None = None
    shape: tuple[Dim, ...] | None = None
    kind: str = "tensor"

    def describe(self) -> str:
        dims = (
            "?"
            if self.shape is None
            else "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"
        )
        inner = f"{self.dtype or '?'}{dims}"
        return inner if self.kind == "tensor" else f"{self.kind}<{inner}>"


@dataclass
class QuantParams:
    """How the integers of a quantised tensor map to real numbers: real = (q - zero_point) * scale.

    scale and zero_point are scalars (per tensor), 1-D along `axis` (per channel), or blocked
    (`block_size` > 0: one entry per block of `block_size` elements along `axis`). `bits` is the
    number of significant bits of each integer (1..16; the tensor's dtype is the container, e.g.
    int8 holding 4-bit codes), so a writer may pack the codes and a reader must find them in
    range. Value and meaning only: ops never read it; importers, the quantiser and exporters do.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None = None
    block_size: int = 0
    bits: int = 8

    def describe(self) -> str:
        per = (
            "per tensor"
            if self.axis is None
            else f"per block of {self.block_size} on axis {self.axis}"
            if self.block_size
            else f"per channel on axis {self.axis}"
        )
        return f"{self.bits}-bit {per}"


@dataclass
class StateBinding:
    """A value a model keeps from one run to the next (a TFLite resource variable, a streaming
    model's buffers). The graph stays a pure function (inputs, state) -> (outputs, new state):
    each run reads the state from graph input `input` (None: the graph never reads it before
    writing it) and its new value is graph output `output` (None: no run changes it). The
    Session keeps the value between runs, feeds it, writes the new value back after a run that
    succeeded, and restores `initial` on reset (None: no value until a run writes one; a run
    that reads it before then fails, as LiteRT's reference kernels do)."""

    name: str
    input: str | None
    output: str | None
    initial: np.ndarray | None = None


@dataclass
class Node:
    """One op application. attrs maps attribute names to Python values, arrays or Graphs."""

    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    domain: str = ""

    def subgraphs(self) -> Iterator[Graph]:
        for value in self.attrs.values():
            if isinstance(value, Graph):
                yield value
            elif isinstance(value, list) and value and isinstance(value[0], Graph):
                # (an attribute's list holds one type: only GRAPHS lists start with a graph)
                yield from (v for v in value if isinstance(v, Graph))

    def label(self) -> str:
        return f"{self.name or '<unnamed>'} ({self.op_type})"


@dataclass
class Graph:
    """A computation graph; also the type of subgraph attributes."""

    nodes: list[Node]
    inputs: list[Value]
    outputs: list[Value]
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "graph"
    opsets: dict[str, int] = field(default_factory=lambda: {"": 21})
    value_info: dict[str, Value] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    # What an ONNX file says about the model, for reporting (onnxruntime's ModelMetadata): the
    # ModelProto's producer_name, producer_version, domain, model_version and doc_string, and the
    # GraphProto's doc_string as graph_doc_string; only those the file sets.
    model_info: dict[str, str] = field(default_factory=dict)
    # Quantisation parameters of quantised values (initializers or activations), by value name.
    quant: dict[str, QuantParams] = field(default_factory=dict)
    # Values kept between runs (top-level graph only): their graph inputs and outputs are the
    # model's hidden state, not the user's feeds and results (see StateBinding).
    state: list[StateBinding] = field(default_factory=list)

    # ---- queries -------------------------------------------------------------------------------
    def constant_initializers(self) -> dict[str, np.ndarray]:
        """The initializers no feed can replace: one that is also a graph input is a default a
        feed may override (onnxruntime's overridable initializers), so never a constant."""
        fed = {v.name for v in self.inputs}
        return {k: v for k, v in self.initializers.items() if k not in fed}

    def produced_names(self) -> set[str]:
        names = {v.name for v in self.inputs} | set(self.initializers)
        for node in self.nodes:
            names.update(o for o in node.outputs if o)
        return names

    def free_names(self) -> set[str]:
        """Names this graph (and its nested bodies) reads but does not define: outer-scope refs."""
        defined = {v.name for v in self.inputs} | set(self.initializers)
        for node in self.nodes:
            defined.update(o for o in node.outputs if o)
        used: set[str] = {v.name for v in self.outputs}
        for node in self.nodes:
            used.update(i for i in node.inputs if i)
            for sub in node.subgraphs():
                used |= sub.free_names()
        return used - defined

    def topological_nodes(self, outer: Scope | Iterable[str] | None = None) -> list[Node]:
        """Nodes in an order where each runs after its producers (stable w.r.t. the file order).

        Raises GraphValidationError on cycles, duplicate producers and names nobody produces.
        """
        outer = _scope(outer)
        producer: dict[str, int] = {}
        local = {v.name for v in self.inputs} | set(self.initializers)
        for idx, node in enumerate(self.nodes):
            for out in node.outputs:
                if not out:
                    continue
                if out in producer:
                    other = self.nodes[producer[out]]
                    raise GraphValidationError(
                        f"graph {self.name!r}: value {out!r} is produced twice, by "
                        f"{other.label()} and {node.label()}"
                    )
                if out in local:
                    raise GraphValidationError(
                        f"graph {self.name!r}: {node.label()} writes {out!r}, which is already a "
                        "graph input or initializer"
                    )
                producer[out] = idx
        waiting_on: list[int] = []
        consumers: dict[str, list[int]] = {}
        in_order = True  # every node after its producers: the order below is the file's own
        for idx, node in enumerate(self.nodes):
            needs = {i for i in node.inputs if i}
            if node.attrs:
                for sub in node.subgraphs():
                    needs |= sub.free_names()
            pending = 0
            missing = []
            for n in needs:  # one pass: every graph's load sorts its nodes several times
                at = producer.get(n)
                if at is not None:
                    pending += 1
                    consumers.setdefault(n, []).append(idx)
                    in_order = in_order and at < idx
                elif n not in local and n not in outer:
                    missing.append(n)
            if missing:
                raise GraphValidationError(
                    f"graph {self.name!r}: {node.label()} reads {sorted(missing)}, which no node, "
                    "graph input or initializer provides"
                )
            waiting_on.append(pending)
        if in_order:  # what the stable sort below returns for such a list (no heap needed)
            return list(self.nodes)
        import heapq

        ready = [i for i, w in enumerate(waiting_on) if w == 0]
        heapq.heapify(ready)
        order: list[Node] = []
        while ready:
            idx = heapq.heappop(ready)
            order.append(self.nodes[idx])
            for out in self.nodes[idx].outputs:
                for c in consumers.get(out, ()):
                    waiting_on[c] -= 1
                    if waiting_on[c] == 0:
                        heapq.heappush(ready, c)
        if len(order) != len(self.nodes):
            stuck = [self.nodes[i].label() for i, w in enumerate(waiting_on) if w > 0]
            raise GraphValidationError(
                f"graph {self.name!r} has a cycle through {len(stuck)} node(s): "
                + ", ".join(stuck[:10])
            )
        return order

    def validate(self, outer: Scope | Iterable[str] | None = None) -> list[Node]:
        """Checks names, producers, cycles and outputs, recursively into subgraphs; returns the
        nodes in topological order (`topological_nodes(outer)`, which the check makes)."""
        outer = _scope(outer)
        seen: set[str] = set()
        for v in self.inputs:
            if not v.name:
                raise GraphValidationError(f"graph {self.name!r} has an input with an empty name")
            if v.name in seen:
                raise GraphValidationError(f"graph {self.name!r}: input {v.name!r} is listed twice")
            seen.add(v.name)
        order = self.topological_nodes(outer)
        scope = Scope(self.produced_names(), outer)
        for v in self.outputs:
            if v.name not in scope:
                raise GraphValidationError(
                    f"graph {self.name!r}: output {v.name!r} is not produced by any node, input or "
                    "initializer"
                )
        for node in self.nodes:
            for sub in node.subgraphs():
                sub.validate(scope)
        self._validate_state()
        return order

    def state_names(self) -> tuple[set[str], set[str]]:
        """The graph inputs and outputs that carry state (hidden from a Session's user)."""
        return (
            {b.input for b in self.state if b.input},
            {b.output for b in self.state if b.output},
        )

    def _validate_state(self) -> None:
        inputs = {v.name: v for v in self.inputs}
        outputs = {v.name for v in self.outputs}
        seen: set[str] = set()
        used: set[str] = set()
        for b in self.state:
            where = f"graph {self.name!r}: state {b.name!r}"
            if not b.name or b.name in seen:
                raise GraphValidationError(f"{where} is unnamed or listed twice")
            seen.add(b.name)
            if b.input is None and b.output is None:
                raise GraphValidationError(f"{where} has neither an input nor an output")
            if b.input is not None and (b.input not in inputs or b.input in self.initializers):
                raise GraphValidationError(
                    f"{where} reads {b.input!r}, which is not a graph input (or has an initializer)"
                )
            if b.output is not None and b.output not in outputs:
                raise GraphValidationError(f"{where} writes {b.output!r}, not a graph output")
            for name in (b.input, b.output):
                if name is not None:
                    if name in used:
                        raise GraphValidationError(f"{where}: {name!r} carries two states")
                    used.add(name)
            if b.initial is not None and b.input is not None:
                v = inputs[b.input]
                dtype = str(b.initial.dtype)
                if v.dtype is not None and dtype != v.dtype:
                    raise GraphValidationError(
                        f"{where}: initial value is {dtype}, its input {b.input!r} {v.dtype}"
                    )

    def walk(self) -> Iterator[tuple[Graph, Node]]:
        """Every (graph, node) pair, nested bodies included."""
        for node in self.nodes:
            yield self, node
            for sub in node.subgraphs():
                yield from sub.walk()
