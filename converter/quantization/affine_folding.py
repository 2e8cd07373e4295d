"""Folds constant per-channel scales and offsets into the convolution before them, so that a
quantiser quantises one tensor where the model wrote three (PP-LCNet's "learnable affine blocks",
Conv -> Mul(a) -> Add(b), are one Conv once folded; each quantised step on its own adds a rounding).

Rewrites (exact up to float rounding, computed in float64 and rounded once):
- Mul(Conv(x, W, b), c) -> Conv(x, W * c[m], b * c[m]);
- Add(Conv(x, W, b), d) -> Conv(x, W, b + d[m]);
- Mul(x, 1) -> x where the constant 1 does not broadcast x to a larger shape.
Preconditions: W, b, c, d constants; c and d hold one value per output channel (a scalar, [C],
or [C, 1, ..] / [1, C, 1, ..] aligned with the output's channel axis 1); the Conv's output feeds
only this Mul/Add. Rewrites repeat until none applies (Conv -> Mul -> Add folds both).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from ..optimizer.rewrite import GraphView, drop_unused_initializers, other_input


def fold_affine(graph: Graph) -> list[str]:
    """Rewrites `graph` in place; returns one line per fold."""
    changes: list[str] = []
    while True:
        step = _fold_once(graph)
        if not step:
            break
        changes += step
    if changes:
        drop_unused_initializers(graph)
    return changes


def _fold_once(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes = infer_shapes(graph)
    changes: list[str] = []
    for node in list(graph.nodes):
        if node.op_type not in ("Mul", "Add") or node.domain not in ("", "ai.onnx"):
            continue
        if not view.alive(node) or len(node.inputs) != 2:
            continue
        for x in dict.fromkeys(node.inputs):
            c_name = other_input(node, x)
            c = view.constant(c_name) if c_name else None
            if c is None or c.dtype != np.float32:
                continue
            if node.op_type == "Mul" and _is_identity(c, shapes.get(x)):
                if view.bypass(node, x, node.outputs[0]):
                    changes.append(f"{node.name}: Mul by 1 removed")
                    break
            conv = view.producer_of(x, "Conv")
            if conv is None:
                continue
            if view.sole_consumer(x) is not node or conv.outputs[0] != x:
                continue
            label = f"{conv.name} <- {node.name}"
            if _fold_into_conv(view, conv, node, c):
                changes.append(label)
                break
    return changes


def _is_identity(c: np.ndarray, x: Value | None) -> bool:
    if c.size != 1 or float(c.reshape(())) != 1.0 or x is None or x.shape is None:
        return False
    return c.ndim <= len(x.shape)


def _fold_into_conv(view: GraphView, conv: Node, op: Node, c: np.ndarray) -> bool:
    w = view.constant(conv.inputs[1])
    if w is None or w.dtype != np.float32 or w.ndim < 3:
        return False
    channels = w.shape[0]
    per_channel = _per_channel(c, channels, w.ndim)
    if per_channel is None:
        return False
    has_bias = len(conv.inputs) > 2 and bool(conv.inputs[2])
    b = view.constant(conv.inputs[2]) if has_bias else np.zeros(channels, np.float32)
    if b is None or b.size != channels:
        return False
    b64, k = b.astype(np.float64).reshape(-1), per_channel.astype(np.float64)
    w_new = w
    if op.op_type == "Mul":
        w_new = (w.astype(np.float64) * k.reshape((-1,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        b_new = b64 * k
    else:
        b_new = b64 + k
    inputs = [
        conv.inputs[0],
        view.add_initializer(f"{conv.inputs[1]}_folded", w_new)
        if op.op_type == "Mul"
        else conv.inputs[1],
        view.add_initializer(f"{conv.name}_bias_folded", b_new.astype(w.dtype)),
    ]
    folded = Node("Conv", inputs, [op.outputs[0]], dict(conv.attrs), conv.name, conv.domain)
    view.replace([conv, op], [folded])
    return True


def _per_channel(c: np.ndarray, channels: int, rank: int) -> np.ndarray | None:
    """c as one value per output channel, or None where it broadcasts any other way."""
    if c.size == 1 and c.ndim <= rank:
        return np.full(channels, float(c.reshape(())), np.float64)
    if c.size != channels or c.ndim > rank:
        return None
    shape = list(c.shape)
    # aligned to the right against the output (N, C, spatial...): C must sit at axis 1
    axis = rank - len(shape) + [i for i, s in enumerate(shape) if s == channels][0]
    if axis != 1 or any(s != 1 for i, s in enumerate(shape) if rank - len(shape) + i != 1):
        return None
    return c.reshape(-1).astype(np.float64)
