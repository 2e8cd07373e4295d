"""bf16 hand-offs (O3 for precision="bf16" where cython-bf16 runs its convs on the AMX tiles;
run by gossamer.layout_planning, not part of the backend-neutral pipeline): a conv whose output one other conv alone reads, as its input, becomes
with that reader one gossamer::FusedConvPair, which cython-bf16 runs as two direct convs with
the first writing its output as the second's bf16 pair planes
(cython_kernels/bf16_conv_pair.py): no float32
tensor between them, no rounding pass in the second. The value between them leaves the graph,
so `gossamer explain` shows each hand-off as a FusedConvPair node, and the plan is recorded in
graph.metadata["gossamer.bf16_handoff"] (JSON).

A pair: two Conv / FusedConv nodes, 2-D, group 1, dilation 1, explicit pads (no auto_pad),
constant weights with kernels larger than 1x1 (both direct convs), no PRelu slope, an activation
of none or Relu; the first without a residual, its output channels a multiple of 32 (the
hand-off form's pair planes), any strides; the second with stride 1 (the form is the padded
image of one phase), a residual z allowed. Chains pair greedily in graph order (a conv is in one
pair at most). Semantics: the pair computes FusedConv(FusedConv(x)) as the graph did; in bf16 the
hand-off planes are the bits the second conv's own rounding would give (the same outputs).
GOSSAMER_BF16_HANDOFF=0 turns the pass off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import (
    GOSSAMER_DOMAIN,
    GraphView,
    copy_graph,
    live_value_info,
    use_gossamer_domain,
)

NAME = "bf16_handoff"
LEVEL = 3
METADATA_KEY = "gossamer.bf16_handoff"
PAIR_CHANNELS = 32  # the first conv's output channels: a multiple of this (whole pair blocks)
_ACTIVATIONS = ("", "Relu")
TakesPair = Callable[[Node, dict[str, Value]], bool]


def enabled() -> bool:
    return os.environ.get("GOSSAMER_BF16_HANDOFF", "1").strip() != "0"


def _conv(node: Node, view: GraphView, first: bool) -> bool:
    """Whether `node` may be the first (or the second) conv of a pair."""
    standard = node.op_type == "Conv" and node.domain in ("", "ai.onnx")
    fused = node.op_type == "FusedConv" and node.domain == GOSSAMER_DOMAIN
    if not (standard or fused) or len(node.inputs) < 2:
        return False
    a = node.attrs
    w = view.constant(node.inputs[1])
    extra = node.inputs[3:]  # FusedConv's slope and residual
    if (
        w is None or w.ndim != 4 or w.shape[2] * w.shape[3] < 2 or int(a.get("group", 1)) != 1
        or any(int(d) != 1 for d in a.get("dilations") or [])
        or str(a.get("auto_pad", "NOTSET") or "NOTSET") != "NOTSET"
        or str(a.get("activation", "")) not in _ACTIVATIONS
        or (len(extra) > 0 and extra[0])  # a PRelu slope
    ):  # fmt: skip
        return False
    if len(node.inputs) > 2 and node.inputs[2] and view.constant(node.inputs[2]) is None:
        return False  # a bias computed at run time: kept simple, not paired
    if first:
        return not (len(extra) > 1 and extra[1]) and w.shape[0] % PAIR_CHANNELS == 0
    return all(int(s) == 1 for s in a.get("strides") or [])


def _pair(view: GraphView, first: Node, second: Node) -> Node:
    a1, a2 = first.attrs, second.attrs
    attrs: dict = {}
    for key in ("pads", "strides"):
        if a1.get(key):
            attrs[key] = list(a1[key])
    for src, dst in (("activation", "activation"), ("activation_params", "activation_params")):
        if a1.get(src):
            attrs[dst] = a1[src]
    if a2.get("pads"):
        attrs["second_pads"] = list(a2["pads"])
    if a2.get("activation"):
        attrs["second_activation"] = a2["activation"]
    if a2.get("activation_params"):
        attrs["second_activation_params"] = a2["activation_params"]
    b1 = first.inputs[2] if len(first.inputs) > 2 else ""
    b2 = second.inputs[2] if len(second.inputs) > 2 else ""
    z = second.inputs[4] if second.op_type == "FusedConv" and len(second.inputs) > 4 else ""
    inputs = [first.inputs[0], first.inputs[1], b1, second.inputs[1], b2, z]
    while inputs[-1] == "":
        inputs.pop()
    return Node("FusedConvPair", inputs, list(second.outputs), attrs, second.name,
                GOSSAMER_DOMAIN)  # fmt: skip


def run(graph: Graph, takes_pair: TakesPair | None = None) -> list[str]:
    """Rewrites `graph` in place; returns one line per hand-off (first conv -> second).
    `takes_pair(pair, values)`: whether the backend that runs the pairs claims this one (the
    inputs' types and shapes in `values`); a pair it would decline is not made (the reference
    would run it)."""
    view = GraphView(graph)
    values = infer_shapes(graph) if takes_pair is not None else {}
    taken: set[str] = set()
    pairs: list[tuple[Node, Node]] = []
    for node in list(graph.nodes):
        if node.name in taken or not _conv(node, view, first=True):
            continue
        reader = view.sole_consumer(node.outputs[0])
        if (
            reader is None or reader.name in taken or reader.inputs[0] != node.outputs[0]
            or node.outputs[0] in reader.inputs[1:] or not _conv(reader, view, first=False)
        ):  # fmt: skip
            continue
        if takes_pair is not None and not takes_pair(_pair(view, node, reader), values):
            continue
        taken |= {node.name, reader.name}
        pairs.append((node, reader))
    if not pairs:
        return []
    for first, second in pairs:  # at the second's place: its residual may come after the first
        view.replace([second], [_pair(view, first, second)])
        view.replace([first], [])
    use_gossamer_domain(graph)
    graph.value_info = live_value_info(graph)
    lines = [f"{a.name} -> {b.name} ({a.outputs[0]})" for a, b in pairs]
    graph.metadata[METADATA_KEY] = json.dumps({"pairs": len(pairs), "hand_offs": lines})
    return lines


def planned(graph: Graph, takes_pair: TakesPair | None = None) -> Graph:
    """A copy of `graph` with its bf16 hand-offs paired, or `graph` itself when the pass is off,
    has run already, or finds no pair (`takes_pair`: as for run)."""
    if not enabled() or METADATA_KEY in graph.metadata:
        return graph
    copy = copy_graph(graph)
    return copy if run(copy, takes_pair) else graph
