"""Identity, inference Dropout and no-op removal (O1).

Rewrite: a node whose output equals its input is removed and its readers read the input:
Identity; Dropout in inference (no training_mode, or a constant false one) with an unused mask;
Reshape/Expand whose input and output have the same static shape; Transpose with the identity
permutation; Cast to the input's own dtype; Pad with all-zero pads; Concat of a single input.
Preconditions: shapes and dtypes come from static inference (never guessed); when the removed
output is a graph output, the input is renamed to it instead, which needs the input to come from a
node and not be a graph input or output itself.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.dtypes import ONNX_TYPE_CODES
from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GraphView, default_opset, is_standard

NAME = "noop_removal"
LEVEL = 1


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes = infer_shapes(graph)
    opset = default_opset(graph)
    removed: list[str] = []
    for node in list(graph.nodes):
        if not is_standard(node) or not view.alive(node) or not node.inputs or not node.inputs[0]:
            continue
        if _is_noop(node, view, shapes, opset) and view.bypass(
            node, node.inputs[0], node.outputs[0]
        ):
            removed.append(node.name)
    return removed


def _is_noop(node: Node, view: GraphView, shapes: dict[str, Value], opset: int) -> bool:
    op = node.op_type
    if any(view.is_used(o) for o in node.outputs[1:] if o):
        return False
    if op == "Identity":
        return True
    if op == "Dropout":
        training = node.inputs[2] if len(node.inputs) > 2 else ""
        return not training or _all_equal(view.constant(training), False)
    if op == "Concat":
        return len(node.inputs) == 1
    if op == "Transpose":
        perm = node.attrs.get("perm")
        rank = _rank(shapes.get(node.inputs[0]))
        if perm is None:
            return rank is not None and rank <= 1
        return list(perm) == list(range(len(perm)))
    if op == "Cast":
        source = shapes.get(node.inputs[0])
        to = node.attrs.get("to")
        target = ONNX_TYPE_CODES.get(to) if isinstance(to, int) else to
        return source is not None and source.dtype is not None and source.dtype == target
    if op in ("Reshape", "Expand"):
        before = _static(shapes.get(node.inputs[0]))
        return before is not None and before == _static(shapes.get(node.outputs[0]))
    if op == "Pad":
        pads = node.attrs.get("pads") if opset < 11 else view.constant(_input(node, 1))
        return pads is not None and _all_equal(np.asarray(pads), 0)
    return False


def _input(node: Node, i: int) -> str:
    return node.inputs[i] if i < len(node.inputs) else ""


def _all_equal(value: np.ndarray | None, target: object) -> bool:
    return value is not None and bool(np.all(value == target))


def _rank(value: Value | None) -> int | None:
    return None if value is None or value.shape is None else len(value.shape)


def _static(value: Value | None) -> tuple[int, ...] | None:
    if value is None or value.kind != "tensor" or value.shape is None:
        return None
    if not all(isinstance(d, int) for d in value.shape):
        return None
    return tuple(value.shape)
