"""Sibling convolution fusion (O3).

Rewrite: convolutions that read the same input with the same geometry and activation, each with
constant weights (and constant biases, all or none), become one convolution with their weights
(and biases) stacked along the output channels, followed by a Split along the channels that gives
each original output its name back: Conv(x, W1, b1), Conv(x, W2, b2) -> Split(Conv(x, [W1; W2],
[b1; b2]), [M1, M2], axis=1). The input is read, padded and packed (im2col, Winograd's input
transform) once instead of once per convolution, and the product has more rows (YOLOv8's head:
the box and class branches' first 3x3 convs of each scale, 1.1-1.3x faster merged at 1 thread).
A channel Split of one image is a view in the memory plan (refimpl/memory_plan.py): it copies
nothing. Each output channel is computed from the same weights, inputs and bias in the same
order as before, so results are bit-identical.

Preconditions: ai.onnx Conv or gossamer::FusedConv, group 1, 2-D (4-D weights) with a kernel
larger than 1x1 (1x1 convs share little: a 1x1 conv reads its input in place or packs it once
cheaply; mtcnn_pnet's two 1x1 heads merged measured neutral), equal attributes
(kernel, strides, pads, dilations, auto_pad, activation and its parameters), float32 weights with
equal input channels and kernel, no PRelu slope or residual input; outputs not graph outputs.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GOSSAMER_DOMAIN, GraphView, default_opset

NAME = "sibling_conv_fusion"
LEVEL = 3


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    groups: dict[tuple, list[Node]] = {}
    for node in graph.nodes:
        key = _key(view, node)
        if key is not None:
            groups.setdefault(key, []).append(node)
    changes: list[str] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        changes.append(_merge(graph, view, members))
    return changes


def _key(view: GraphView, node: Node) -> tuple | None:
    """What convolutions must share to be merged (None: this one cannot be)."""
    if node.op_type == "Conv" and node.domain in ("", "ai.onnx"):
        extra: list[str] = []
    elif node.op_type == "FusedConv" and node.domain == GOSSAMER_DOMAIN:
        extra = list(node.inputs[3:])
    else:
        return None
    if any(extra) or len(node.outputs) != 1 or node.outputs[0] in view.outputs:
        return None
    if not node.inputs or not node.inputs[0] or len(node.inputs) < 2:
        return None
    w = view.constant(node.inputs[1])
    if w is None or w.ndim != 4 or w.dtype != np.float32 or not w.shape[0]:
        return None
    if w.shape[2:] == (1, 1):  # nothing shared to speak of (mtcnn_pnet's two 1x1 heads: neutral)
        return None
    if int(node.attrs.get("group", 1)) != 1:
        return None
    b_name = node.inputs[2] if len(node.inputs) > 2 else ""
    if b_name:
        b = view.constant(b_name)
        if b is None or b.dtype != np.float32 or b.shape != (w.shape[0],):
            return None
    attrs = tuple(sorted((k, _frozen(v)) for k, v in node.attrs.items()))
    return (node.op_type, node.domain, node.inputs[0], w.shape[1:], bool(b_name), attrs)


def _frozen(value: object) -> object:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _merge(graph: Graph, view: GraphView, members: list[Node]) -> str:
    first = members[0]
    weights = [view.constant(n.inputs[1]) for n in members]
    sizes = [int(w.shape[0]) for w in weights]  # type: ignore[union-attr]
    w_name = view.add_initializer(f"{first.inputs[1]}_siblings", np.concatenate(weights, axis=0))
    inputs = [first.inputs[0], w_name]
    if len(first.inputs) > 2 and first.inputs[2]:
        biases = [view.constant(n.inputs[2]) for n in members]
        inputs.append(view.add_initializer(f"{first.inputs[2]}_siblings",
                                           np.concatenate(biases, axis=0)))  # fmt: skip
    merged = view.fresh(f"{first.outputs[0]}_siblings")
    conv = Node(first.op_type, inputs, [merged], dict(first.attrs), view.fresh(first.name),
                first.domain)  # fmt: skip
    outputs = [n.outputs[0] for n in members]
    split_attrs: dict[str, object] = {"axis": 1}
    split_inputs = [merged]
    if default_opset(graph) >= 13:
        split_inputs.append(view.add_initializer(f"{merged}_split", np.array(sizes, np.int64)))
    else:
        split_attrs["split"] = sizes
    split = Node("Split", split_inputs, outputs, split_attrs, view.fresh(f"{first.name}_split"))
    view.replace(members, [conv, split])
    for n in members:  # weights no other node reads go
        for name in n.inputs[1:3]:
            if name and name in graph.initializers and not view.is_used(name):
                del graph.initializers[name]
    return f"merged {len(members)} convs reading {first.inputs[0]!r}: " + ", ".join(
        n.name for n in members
    )
