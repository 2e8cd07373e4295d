"""Conv / Gemm / MatMul + bias Add fusion (O2).

Rewrite: Add(Conv(x, W, b), d) becomes Conv(x, W, b + d); Add(Gemm(a, B, C), d) becomes
Gemm(a, B, beta * C + d) with beta = 1; Add(MatMul(a, B), d) becomes gossamer::FusedMatMul(a, B, d).
Adding the two constant bias terms first changes only rounding; FusedMatMul is MatMul then Add.
Preconditions: d is a constant of the result's float dtype holding one value per output channel
(Conv: shape [C], [C, 1, ..], [1, C, 1, ..] or a scalar, of rank <= the output's; Gemm: [N], [1, N]
or a scalar; MatMul: exactly [N], with B a constant of rank >= 2), an existing bias is constant,
and the producer's output feeds only this Add.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GOSSAMER_DOMAIN, GraphView, iter_ops, other_input, use_gossamer_domain

NAME = "bias_fusion"
LEVEL = 2


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    fused: list[str] = []
    for add in iter_ops(graph, "Add"):
        for y in dict.fromkeys(add.inputs):
            producer = view.producer.get(y)
            d_name = other_input(add, y)
            if producer is None or d_name is None or view.sole_consumer(y) is not add:
                continue
            d = view.constant(d_name)
            if d is None or d.dtype.kind != "f" or producer.domain not in ("", "ai.onnx"):
                continue
            rewrite = _REWRITES.get(producer.op_type)
            new = rewrite(view, producer, d, d_name, add.outputs[0]) if rewrite else None
            if new is not None:
                view.replace([producer, add], [new])
                fused.append(f"{producer.name} + {add.name}")
                break
    if any(n.op_type == "FusedMatMul" for n in graph.nodes):
        use_gossamer_domain(graph)
    return fused


def _conv(view: GraphView, conv: Node, d: np.ndarray, d_name: str, out: str) -> Node | None:
    w = view.constant(conv.inputs[1])
    if w is None or w.dtype != d.dtype or d.ndim > w.ndim:
        return None
    channels = w.shape[0]
    per_channel = (1,) * (w.ndim - d.ndim) + d.shape == (1, channels) + (1,) * (w.ndim - 2)
    if d.size != 1 and not per_channel:
        return None
    b = _existing_bias(view, conv, 2, channels, w.dtype)
    if b is None:
        return None
    bias = (b.astype(np.float64) + d.astype(np.float64).reshape(-1)).astype(w.dtype)
    inputs = [conv.inputs[0], conv.inputs[1], view.add_initializer(f"{conv.name}_bias", bias)]
    return Node("Conv", inputs, [out], dict(conv.attrs), conv.name, conv.domain)


def _gemm(view: GraphView, gemm: Node, d: np.ndarray, d_name: str, out: str) -> Node | None:
    b = view.constant(gemm.inputs[1])
    if b is None or b.ndim != 2 or b.dtype != d.dtype or d.ndim > 2:
        return None
    n = b.shape[0] if gemm.attrs.get("transB", 0) else b.shape[1]
    if d.size != 1 and d.shape[-1:] != (n,) or d.size not in (1, n):
        return None
    c = _existing_bias(view, gemm, 2, n, b.dtype)
    if c is None:
        return None
    beta = float(gemm.attrs.get("beta", 1.0))
    bias = (beta * c.astype(np.float64) + d.astype(np.float64).reshape(-1)).astype(b.dtype)
    inputs = [gemm.inputs[0], gemm.inputs[1], view.add_initializer(f"{gemm.name}_bias", bias)]
    attrs = dict(gemm.attrs) | {"beta": 1.0}
    return Node("Gemm", inputs, [out], attrs, gemm.name, gemm.domain)


def _matmul(view: GraphView, matmul: Node, d: np.ndarray, d_name: str, out: str) -> Node | None:
    b = view.constant(matmul.inputs[1])
    if b is None or b.ndim < 2 or b.dtype != d.dtype or d.shape != (b.shape[-1],):
        return None
    inputs = [matmul.inputs[0], matmul.inputs[1], d_name]
    return Node("FusedMatMul", inputs, [out], {}, matmul.name, GOSSAMER_DOMAIN)


def _existing_bias(
    view: GraphView, node: Node, index: int, size: int, dtype: np.dtype
) -> np.ndarray | None:
    """The node's constant bias input as a flat vector of `size` (zeros when absent)."""
    if len(node.inputs) <= index or not node.inputs[index]:
        return np.zeros(size, dtype)
    value = view.constant(node.inputs[index])
    if value is None or value.size not in (1, size) or value.ndim > 2:
        return None
    if value.size == size and size != 1 and value.shape[-1] != size:
        return None  # a [M, 1] column bias is not per output channel
    return np.broadcast_to(value.reshape(-1), (size,))


_REWRITES = {"Conv": _conv, "Gemm": _gemm, "MatMul": _matmul}
