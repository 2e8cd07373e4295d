"""Whether a model's opset can be raised without changing what it computes.

Quantisation sometimes needs a newer op version than the model imports (DequantizeLinear per
channel: 13; blocks and 16-bit codes: 21). ONNX imports one version per domain for the whole
model, so raising it re-resolves every node; that is safe only when each op means the same.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from ...refimpl.ir import Graph
from ...refimpl.registry import default_registry


def changed_ops(graph: Graph, old: int, new: int) -> list[str]:
    """The default-domain ops of the graph whose meaning may differ at opset `new` (none:
    raising the opset keeps the model's meaning). A newer version counts as the same when its
    reference function keeps every input in place and every attribute with its default, adding
    only optional ones (Cast-19's saturate, Resize-18's antialias, Split-18's num_outputs)."""
    registry = default_registry()
    changed = set()
    for _, node in graph.walk():
        if node.domain in ("", "ai.onnx"):
            before = registry.resolve("", node.op_type, old)
            after = registry.resolve("", node.op_type, new)
            if before is None or after is None or not _compatible(node.op_type, before, after):
                changed.add(node.op_type)
    return sorted(changed)


# new versions that keep the signature but change the meaning
_SAME_SIGNATURE_CHANGES = {"GroupNormalization", "DFT"}


def _compatible(op: str, before: Callable, after: Callable) -> bool:
    if before is after:
        return True
    if op in _SAME_SIGNATURE_CHANGES:
        return False
    old, new = inspect.signature(before).parameters, inspect.signature(after).parameters
    keyword = inspect.Parameter.KEYWORD_ONLY
    old_pos = [p for p in old.values() if p.kind != keyword]
    new_pos = [p for p in new.values() if p.kind != keyword]
    if len(new_pos) < len(old_pos):
        return False
    if any(a.kind != b.kind for a, b in zip(old_pos, new_pos)):
        return False
    if any(p.default is inspect.Parameter.empty for p in new_pos[len(old_pos) :]):
        return False
    for name, p in old.items():
        if p.kind == keyword:
            q = new.get(name)
            if q is None or q.kind != keyword or q.default != p.default:
                return False
    return True
