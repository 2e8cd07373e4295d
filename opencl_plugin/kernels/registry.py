"""The op table: which op types the backend claims, the predicate that decides per node, and the
lowering that runs it. Element-wise ops are claimed here but lowered by `fusion`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...refimpl.ir import Node, Value
from . import (
    conv,
    conv_transpose,
    elementwise,
    gemm,
    index_map,
    layout,
    pool,
    recurrent,
    reduce,
    resize,
)

Support = Callable[[Node, "list[Value | None]", dict, int], "str | None"]

SUPPORT: dict[str, Support] = {}
LOWER: dict[str, Callable[..., Any]] = {}
for family in (gemm, conv, conv_transpose, pool, reduce, layout, index_map, resize, recurrent):
    SUPPORT.update(family.SUPPORT)  # type: ignore[attr-defined]
    LOWER.update(family.LOWER)  # type: ignore[attr-defined]
# Identity and Dropout are views when alone; inside an element-wise chain they fuse
ELEMENTWISE = set(elementwise.OPS) - set(layout.VIEWS)
for op in ELEMENTWISE:
    SUPPORT[op] = elementwise.supports
# domains the ops above are taken from: ONNX, and the optimiser's own fused ops
DOMAINS = {"": "", "ai.onnx": "", "gossamer": "gossamer"}
GOSSAMER_OPS = {
    "FusedConv",
    "FusedGemm",
    "FusedMatMul",
    "HardSwish",
    "Gelu",
    "Swish",
    "LayerNormalization",
}


def is_elementwise(node: Node) -> bool:
    return node.op_type in ELEMENTWISE and node.domain in ("", "ai.onnx", "gossamer")


def opset_of(opsets: dict[str, int], domain: str) -> int:
    if domain in ("", "ai.onnx"):
        return opsets.get("", opsets.get("ai.onnx", 0))
    return opsets.get(domain, 0)


def refusal(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    """None if the backend runs `node`, else why not."""
    domain = DOMAINS.get(node.domain)
    if domain is None or (domain == "gossamer" and node.op_type not in GOSSAMER_OPS):
        return (
            f"no kernel for {node.domain}::{node.op_type}"
            if node.domain
            else (f"no kernel for {node.op_type}")
        )
    check = SUPPORT.get(node.op_type)
    if check is None:
        return f"no kernel for {node.op_type}"
    if any(body for body in node.subgraphs()):
        return "has subgraphs"
    out_types = [o for o in node.outputs if o]
    if not out_types:
        return "no outputs"
    try:
        return check(node, inputs, consts, opset)
    except (KeyError, IndexError, TypeError, ValueError) as err:  # odd attributes: decline
        return f"attributes not understood ({type(err).__name__}: {err})"
