"""Blocked channel layout for CPU kernels (O3, run by gossamer.load when the cython backend is
selected; not part of the backend-neutral pipeline).

Plans chains of convolutions that run in NCHW8c, (N, C/8, H, W, 8), whose vector is eight
channels of one pixel (onnxruntime's NchwcTransformer does the same for its CPU kernels):
- a Conv / FusedConv (2-D, constant weights, float32, output channels a multiple of 8, group 1 or
  depthwise, activation none/Relu/Clip, no PRelu slope) becomes gossamer::NchwcConv, writing a
  blocked output; a group-1 conv reads its input as it comes (NCHW from outside a chain, blocked
  inside one), a depthwise conv only a blocked input;
- a residual z from outside the chain is blocked by a gossamer::NchwcReorderInput;
- a GlobalAveragePool of a blocked value becomes gossamer::NchwcGlobalAveragePool (which writes
  NCHW, ending the chain);
- every other reader of a blocked value reads it through one gossamer::NchwcReorderOutput, which
  keeps the value's name, so graph outputs and the rest of the graph are unchanged.
A chain (blocked convs joined by blocked values) with a single conv is left as it was: its
reorders would cost more than the layout saves. Channel counts must be known; batch and spatial
dims may be symbolic. The plan is recorded in graph.metadata["gossamer.layout"] (JSON), which
`gossamer info` prints. GOSSAMER_BLOCKED_LAYOUT=0 turns the pass off.
"""

from __future__ import annotations

import json
import os

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import (
    GOSSAMER_DOMAIN,
    GraphView,
    copy_graph,
    live_value_info,
    use_gossamer_domain,
)

NAME = "channel_blocking"
LEVEL = 3
BLOCK = 8
METADATA_KEY = "gossamer.layout"
_CONV_ATTRS = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")


def enabled() -> bool:
    return os.environ.get("GOSSAMER_BLOCKED_LAYOUT", "1").strip() != "0"


def run(graph: Graph) -> list[str]:
    """Rewrites `graph` in place; returns one line per blocked chain."""
    view = GraphView(graph)
    values = infer_shapes(graph)
    blocked = _plan(graph, view, values)
    if not blocked:
        return []
    chains = _chains(blocked, view)
    blocked = {name for chain in chains if len(chain) > 1 for name in chain}
    if not blocked:
        return []
    reorders = _rewrite(graph, view, values, blocked)
    use_gossamer_domain(graph)
    graph.nodes[:] = graph.topological_nodes()
    graph.value_info = live_value_info(graph)
    kept = [sorted(c) for c in chains if len(c) > 1]
    graph.metadata[METADATA_KEY] = json.dumps(
        {
            "layout": f"NCHW{BLOCK}c",
            "chains": len(kept),
            "nodes": sum(map(len, kept)),
            "reorders": reorders,
        }  # fmt: skip
    )
    return [f"NCHW{BLOCK}c chain of {len(c)} convs from {c[0]}" for c in kept]


def _conv_ok(node: Node, view: GraphView, values: dict[str, Value]) -> str | None:
    """'conv' or 'depthwise' if the node can run blocked (input layout aside), else None."""
    if node.op_type == "Conv" and node.domain in ("", "ai.onnx"):
        activation, slope, z = "", "", ""
    elif node.op_type == "FusedConv" and node.domain == GOSSAMER_DOMAIN:
        activation = str(node.attrs.get("activation", ""))
        slope = node.inputs[3] if len(node.inputs) > 3 else ""
        z = node.inputs[4] if len(node.inputs) > 4 else ""
    else:
        return None
    if activation not in ("", "Relu", "Clip") or slope:
        return None
    w = view.constant(node.inputs[1]) if len(node.inputs) > 1 else None
    x = values.get(node.inputs[0])
    y = values.get(node.outputs[0])
    if w is None or w.ndim != 4 or x is None or x.shape is None or len(x.shape) != 4:
        return None
    if x.dtype != "float32" or y is None or y.dtype != "float32" or w.shape[0] % BLOCK:
        return None
    if z and not _known_channels(values.get(z), w.shape[0]):
        return None
    c, group = x.shape[1], int(node.attrs.get("group", 1))
    if not isinstance(c, int):
        return None
    if group == 1 and c == w.shape[1]:
        return "conv"
    if group == c == w.shape[0] and w.shape[1] == 1:
        return "depthwise"
    return None


def _known_channels(v: Value | None, channels: int) -> bool:
    return v is not None and v.shape is not None and len(v.shape) == 4 and v.shape[1] == channels


def _plan(graph: Graph, view: GraphView, values: dict[str, Value]) -> set[str]:
    """Names of the conv nodes to block, in one pass over the nodes in order: a depthwise conv
    only on a blocked input."""
    out: set[str] = set()
    blocked_values: set[str] = set()
    for node in graph.topological_nodes():
        kind = _conv_ok(node, view, values)
        if kind is None or (kind == "depthwise" and node.inputs[0] not in blocked_values):
            continue
        out.add(node.name)
        blocked_values.add(node.outputs[0])
    return out


def _chains(blocked: set[str], view: GraphView) -> list[set[str]]:
    """The blocked nodes grouped into chains (connected through values they pass each other)."""
    parent = {n: n for n in blocked}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for node in list(view.graph.nodes):
        if node.name not in blocked:
            continue
        for name in node.inputs[:1] + node.inputs[4:5]:
            producer = view.producer.get(name) if name else None
            if producer is not None and producer.name in blocked:
                parent[find(producer.name)] = find(node.name)
    groups: dict[str, set[str]] = {}
    for n in blocked:
        groups.setdefault(find(n), set()).add(n)
    return sorted(groups.values(), key=lambda g: sorted(g)[0])


def _rewrite(graph: Graph, view: GraphView, values: dict[str, Value], blocked: set[str]) -> int:
    """Replaces the planned nodes; returns the reorders added."""
    nodes = [n for n in graph.nodes if n.name in blocked]
    renamed = {n.outputs[0]: view.fresh(f"{n.outputs[0]}_nchwc") for n in nodes}
    reorders = 0
    blocked_in: dict[str, str] = {}  # an NCHW value -> its blocked copy (a reorder-in)

    def as_blocked(name: str) -> str:
        nonlocal reorders
        if name in renamed:
            return renamed[name]
        if name not in blocked_in:
            blocked_in[name] = view.fresh(f"{name}_nchwc")
            node = Node("NchwcReorderInput", [name], [blocked_in[name]], {"block_size": BLOCK},
                        view.fresh(f"{name}_to_nchwc"), GOSSAMER_DOMAIN)  # fmt: skip
            view.replace([], [node])
            reorders += 1
        return blocked_in[name]

    for node in nodes:
        x, w = node.inputs[0], node.inputs[1]
        b = node.inputs[2] if len(node.inputs) > 2 else ""
        z = node.inputs[4] if len(node.inputs) > 4 else ""
        attrs = {k: node.attrs[k] for k in _CONV_ATTRS if k in node.attrs}
        for k in ("activation", "activation_params"):
            if node.attrs.get(k):
                attrs[k] = node.attrs[k]
        inputs = [renamed.get(x, x), w, b, as_blocked(z) if z else ""]
        while inputs and not inputs[-1]:
            inputs.pop()
        new = Node("NchwcConv", inputs, [renamed[node.outputs[0]]], attrs, node.name,
                   GOSSAMER_DOMAIN)  # fmt: skip
        view.replace([node], [new])
    for plain, name in renamed.items():
        readers = [n for n in view.consumers.get(plain, []) if n.name not in blocked]
        pools = [n for n in readers if _is_global_average(n)]
        for pool in pools:
            view.replace([pool], [Node("NchwcGlobalAveragePool", [name], list(pool.outputs), {},
                                       pool.name, GOSSAMER_DOMAIN)])  # fmt: skip
        if (
            any(n not in pools for n in readers)
            or plain in view.outputs
            or plain in view.body_reads
        ):
            out = Node("NchwcReorderOutput", [name], [plain], {}, view.fresh(f"{plain}_from_nchwc"),
                       GOSSAMER_DOMAIN)  # fmt: skip
            view.replace([], [out])
            reorders += 1
    return reorders


def _is_global_average(node: Node) -> bool:
    return node.op_type == "GlobalAveragePool" and node.domain in ("", "ai.onnx")


def planned(graph: Graph) -> Graph:
    """A copy of `graph` with blocked chains planned, or `graph` itself when the pass is off, has
    run already, or finds nothing to block."""
    if not enabled() or METADATA_KEY in graph.metadata:
        return graph
    copy = copy_graph(graph)
    return copy if run(copy) else graph
