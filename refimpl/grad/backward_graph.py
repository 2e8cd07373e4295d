"""Graph-level autodiff: the backward program of a forward graph made of ops with VJPs.

`build_backward(graph, loss, trainable)` returns one Graph that runs the forward nodes, then one
`GRAD_DOMAIN::<Op>Grad` node per forward node between a trainable initializer and the loss, in
reverse order. A value read by several nodes gets the `Sum` of their cotangents; an output
cotangent a VJP needs but nothing produced (an unused Split part) is zeros. Its outputs are the
loss and, per trainable initializer, its gradient `<name>@grad` (zeros if it does not reach the
loss). A VJP runs through the registry, so a backend's backward kernels run it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import UnsupportedModelError
from ..ir import Graph, Node, Value
from ..registry import OpFunction, OpRegistry, default_registry
from . import vjp_for
from .contract import GRAD_DOMAIN, GradSpec, grad_spec_of


class GradientNotDefinedError(UnsupportedModelError):
    """Ops between a trainable weight and the loss have no gradient in the reference (all listed
    in `unsupported`: domain, op_type, opset, nodes)."""


@dataclass(frozen=True)
class BackwardGraph:
    """The forward+backward program; `gradients` maps each trainable initializer to its output."""

    graph: Graph
    loss: str
    gradients: dict[str, str]


def trainable_names(
    graph: Graph, patterns: Iterable[str] = ("*",), frozen: Iterable[str] = ()
) -> list[str]:
    """Float initializers whose names match a pattern (fnmatch) and no frozen pattern."""
    keep, skip = list(patterns), list(frozen)
    return [
        name
        for name, value in graph.initializers.items()
        if np.asarray(value).dtype.kind == "f"
        and any(fnmatch.fnmatchcase(name, p) for p in keep)
        and not any(fnmatch.fnmatchcase(name, p) for p in skip)
    ]


def _wrt(spec: GradSpec, node: Node) -> set[int]:
    return set(range(len(node.inputs))) if isinstance(spec.wrt, str) else set(spec.wrt)


class _Builder:
    def __init__(self, graph: Graph, registry: OpRegistry) -> None:
        self.graph = graph
        self.registry = registry
        self.opset = graph.opsets.get("", graph.opsets.get("ai.onnx", 21))
        self.nodes: list[Node] = []
        self.contributions: dict[str, list[str]] = {}
        self.count = 0

    def vjp(self, node: Node) -> OpFunction | None:
        opset = self.graph.opsets.get(node.domain, self.opset) if node.domain else self.opset
        forward = self.registry.resolve(node.domain, node.op_type, opset)
        return None if forward is None else vjp_for(forward)

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}@{self.count}"

    def emit(self, op: str, inputs: list[str], outputs: list[str], **attrs: object) -> None:
        name = self.fresh(f"grad/{op}")
        self.nodes.append(Node(op, inputs, outputs, dict(attrs), name=name))

    def zeros_like(self, value: str, dtype: np.dtype) -> str:
        shape, out = self.fresh(f"{value}@shape"), self.fresh(f"{value}@zeros")
        self.emit("Shape", [value], [shape])
        self.emit("ConstantOfShape", [shape], [out], value=np.zeros(1, dtype))
        return out

    def cotangent(self, value: str) -> str | None:
        """The summed cotangent of `value` (None if nothing reached it)."""
        parts = self.contributions.get(value, [])
        if len(parts) <= 1:
            return parts[0] if parts else None
        out = self.fresh(f"{value}@grad")
        self.emit("Sum", parts, [out])
        self.contributions[value] = [out]
        return out


def build_backward(
    graph: Graph,
    loss: str,
    trainable: Iterable[str] | None = None,
    *,
    registry: OpRegistry | None = None,
) -> BackwardGraph:
    """The backward program of `graph` for the scalar (or summed) value `loss`, differentiating
    the initializers `trainable` (default: every float initializer)."""
    registry = registry or default_registry()
    weights = list(trainable_names(graph) if trainable is None else trainable)
    missing = [w for w in weights if w not in graph.initializers]
    if missing:
        raise UnsupportedModelError(f"trainable names that are not initializers: {missing}")
    b = _Builder(graph, registry)
    order = graph.topological_nodes()
    # values that depend on a trainable weight through differentiable inputs
    needs = set(weights)
    for node in order:
        vjp = b.vjp(node)
        through = _wrt(grad_spec_of(vjp), node) if vjp is not None else set(range(len(node.inputs)))
        if any(node.inputs[i] in needs for i in through if i < len(node.inputs)):
            needs.update(o for o in node.outputs if o)
    # values the loss depends on
    reaches = {loss}
    for node in reversed(order):
        if any(o in reaches for o in node.outputs if o):
            reaches.update(i for i in node.inputs if i)
    active = [
        n
        for n in order
        if any(o in reaches for o in n.outputs if o) and any(i in needs for i in n.inputs if i)
    ]
    _raise_unsupported(b, active)
    dtype = np.asarray(graph.initializers[weights[0]]).dtype if weights else np.dtype(np.float32)
    seed_shape = b.fresh(f"{loss}@shape")
    b.emit("Shape", [loss], [seed_shape])
    b.contributions[loss] = [b.fresh(f"{loss}@seed")]
    b.emit("ConstantOfShape", [seed_shape], b.contributions[loss], value=np.ones(1, dtype))
    forward_nodes = {id(n): n for n in graph.nodes}
    for node in reversed(active):
        _backward_node(b, node, forward_nodes, needs, dtype)
    outputs = [Value(loss)]
    gradients: dict[str, str] = {}
    for w in weights:
        found = b.cotangent(w) or b.zeros_like(w, dtype)
        gradients[w] = f"{w}@grad"
        b.emit("Identity", [found], [gradients[w]])
        outputs.append(Value(gradients[w]))
    program = replace(
        graph,
        nodes=[forward_nodes[id(n)] for n in graph.nodes] + b.nodes,
        outputs=outputs,
        opsets={**graph.opsets, GRAD_DOMAIN: b.opset},
        name=f"{graph.name}_backward",
    )
    return BackwardGraph(program, loss, gradients)


def _backward_node(
    b: _Builder, node: Node, forward_nodes: dict[int, Node], needs: set[str], dtype: np.dtype
) -> None:
    """Emits the VJP node of one forward node (naming forward outputs it reads if unnamed)."""
    vjp = b.vjp(node)
    if vjp is None:  # _raise_unsupported has listed every such node already
        raise GradientNotDefinedError(f"{node.label()}: no gradient for {node.op_type}")
    spec = grad_spec_of(vjp)
    outputs = list(node.outputs)
    inputs: list[str] = []
    for t in spec.takes:
        if t in ("dys", "xs"):
            names = outputs if t == "dys" else node.inputs
            if t == "dys":
                inputs += [b.cotangent(y) or b.zeros_like(y, dtype) for y in names]
            else:
                inputs += list(names)
            continue
        kind, k = t.rstrip("0123456789"), int(t.lstrip("dyx") or 0)
        if kind == "x":
            inputs.append(node.inputs[k] if k < len(node.inputs) else "")
        else:
            while len(outputs) <= k:
                outputs.append("")
            if not outputs[k]:  # e.g. Dropout's mask: the VJP reads it, so the forward names it
                outputs[k] = b.fresh(f"{node.name or node.op_type}@y{k}")
            y = outputs[k]
            inputs.append(y if kind == "y" else (b.cotangent(y) or b.zeros_like(y, dtype)))
    while inputs and not inputs[-1]:
        inputs.pop()
    wrt = _wrt(spec, node)
    grads = []
    for i, x in enumerate(node.inputs):
        if i in wrt and x and x in needs:
            grads.append(b.fresh(f"{x}@grad"))
            b.contributions.setdefault(x, []).append(grads[-1])
        else:
            grads.append("")
    while grads and not grads[-1]:
        grads.pop()
    if outputs != node.outputs:
        forward_nodes[id(node)] = replace(node, outputs=outputs)
    b.nodes.append(
        Node(f"{spec.forward}Grad", inputs, grads, dict(node.attrs),
             name=b.fresh(f"{node.name or node.op_type}/grad"), domain=GRAD_DOMAIN)
    )  # fmt: skip


def _raise_unsupported(b: _Builder, active: list[Node]) -> None:
    bad: dict[tuple[str, str], list[str]] = {}
    for node in active:
        if b.vjp(node) is None:
            bad.setdefault((node.domain, node.op_type), []).append(node.name or node.op_type)
    if not bad:
        return
    items: list[dict[str, Any]] = [
        {"domain": d or "ai.onnx", "op_type": op, "opset": b.opset, "nodes": names}
        for (d, op), names in sorted(bad.items())
    ]
    listed = "; ".join(f"{i['op_type']} ({', '.join(i['nodes'])})" for i in items)
    raise GradientNotDefinedError(
        f"graph {b.graph.name!r}: {len(items)} op type(s) between a trainable weight and the loss "
        f"have no gradient in the reference: {listed}. Freeze the weights before them, or add a "
        "VJP in refimpl/grad/",
        items,
    )
