"""Graph rewrites that depend on which backends a session uses: the cython backend's blocked
channel layout (converter/optimizer/channel_blocking.py) is planned only when it is selected."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from .refimpl.ir import Graph

# where the pass records its plan (channel_blocking.METADATA_KEY; read here without importing the
# optimiser, which a cropped build may not have)
LAYOUT_KEY = "gossamer.layout"
# the convs the pass may block (channel_blocking._conv_ok: ONNX Conv, gossamer::FusedConv)
_CONVS = ("Conv", "FusedConv")


def plan_for_backends(graph: Graph, backends: Sequence[str] | None) -> Graph:
    """`graph`, or a copy with NCHW8c chains planned when the backend selection (None: the
    default one, GOSSAMER_BACKENDS else every available backend) includes the cython backend,
    and attention blocks fused for its kernel (attention_fusion)."""
    graph = _attention_for_backends(graph, backends)
    graph = _bf16_handoffs_for_backends(graph, backends)
    if LAYOUT_KEY in graph.metadata or not _has_conv(graph):
        return graph
    if not _wide_allowed() and not _has_grouped_conv(graph):
        return graph  # nothing the narrow pass would keep (see _has_grouped_conv)
    from .converter.optimizer.channel_blocking import enabled, planned
    from .plugins.manager import select_backends

    if not enabled():
        return graph
    chosen, _ = select_backends(list(backends) if backends is not None else None)
    cython = next((b for b in chosen if b.name == "cython"), None)
    if cython is None:
        return graph
    # the wide pass (chains without a depthwise conv, wide k x k convs) where the cython
    # backend's kernels favour it (its blocked_layout_wide: AVX-512)
    wide = _wide_allowed() and bool(getattr(cython, "blocked_layout_wide", lambda: False)())
    if not wide and not _has_grouped_conv(graph):
        return graph
    for backend in chosen:  # precision="bf16": the convs cython-bf16 runs stay NCHW, the
        if backend.name == "cython-bf16":  # float32 ones around them are blocked
            return planned(graph, backend.keep_nchw, wide)
    return planned(graph, wide=wide)


def _wide_allowed() -> bool:
    """GOSSAMER_BLOCKED_WIDE=0 keeps the pass narrow (chains with a depthwise conv only)."""
    return os.environ.get("GOSSAMER_BLOCKED_WIDE", "1").strip() != "0"


def _has_conv(graph: Graph) -> bool:
    return any(node.op_type in _CONVS for node in graph.nodes)


def _attention_for_backends(graph: Graph, backends: Sequence[str] | None) -> Graph:
    """gossamer::PackedAttention in place of the attention blocks (a Softmax fed by a MatMul)
    where the cython backend is selected (GOSSAMER_ATTENTION=0: never)."""
    if not _has_attention(graph) or os.environ.get("GOSSAMER_ATTENTION", "1") == "0":
        return graph
    from .plugins.manager import select_backends

    chosen, _ = select_backends(list(backends) if backends is not None else None)
    if not any(b.name == "cython" for b in chosen):
        return graph
    from .converter.optimizer.attention_fusion import fused

    return fused(graph)


def _bf16_handoffs_for_backends(graph: Graph, backends: Sequence[str] | None) -> Graph:
    """Pairs of convs with a bf16 hand-off (gossamer::FusedConvPair,
    converter/optimizer/bf16_handoff.py) where cython-bf16 is selected and takes them (its
    takes_handoffs: its convs on the AMX tiles)."""
    if not _has_conv(graph):
        return graph
    from .plugins.manager import select_backends

    chosen, _ = select_backends(list(backends) if backends is not None else None)
    bf16 = next((b for b in chosen if b.name == "cython-bf16"), None)
    if bf16 is None or not bf16.takes_handoffs():
        return graph
    from .converter.optimizer.bf16_handoff import planned

    return planned(graph, bf16.takes_pair)


def _has_attention(graph: Graph) -> bool:
    softmax_inputs = {n.inputs[0] for n in graph.nodes if n.op_type == "Softmax" and n.inputs}
    return bool(softmax_inputs) and any(
        n.op_type in ("Add", "Mul", "MatMul") and n.outputs[0] in softmax_inputs
        for n in graph.nodes
    )


def _has_grouped_conv(graph: Graph) -> bool:
    """Whether a top-level conv has group > 1. The narrow pass keeps only chains with a depthwise
    conv (group = channels, a multiple of the block), so a graph without one is left as it is: a
    load then neither imports the pass nor copies the graph to find nothing (the small
    models')."""
    for node in graph.nodes:
        if node.op_type in _CONVS:
            group = node.attrs.get("group", 1)
            if not isinstance(group, int) or group > 1:
                return True
    return False


def describe_layout(graph: Graph) -> str | None:
    """One line about the blocked layout planned in `graph` (gossamer info), or None."""
    raw = graph.metadata.get(LAYOUT_KEY)
    if not raw:
        return None
    plan = json.loads(raw)
    return (
        f"{plan['layout']} (cython): {plan['nodes']} convs in {plan['chains']} blocked "
        f"chain(s), {plan['reorders']} reorder(s) at their ends"
    )
