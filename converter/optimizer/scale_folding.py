"""Constant scale folding into Conv / Gemm / MatMul weights (O2).

Rewrite: after a layer, Mul(Conv(x, W, bias), s) becomes Conv(x, W s, bias s) (s a scalar or one
value per output channel); Mul(MatMul(a, B), s) becomes MatMul(a, B s) and Mul(Gemm(a, B, C), s)
becomes Gemm(a, B s, C s) (s a scalar or one value per output column). Before a Conv,
Conv(Mul(u, s)) becomes Conv(u) with W scaled along its input channels (s a scalar or one value
per input channel), and Conv(Add(u, b)) becomes Conv(u) with bias + (W summed over its window) b.
So a scalar affine between layers (PaddleOCR's learnable affine blocks: Conv, Mul, Add,
HardSwish, Mul, Add, Conv) disappears into the weights, and bias_fusion and activation_fusion,
which run after this pass, fuse the rest. Products are taken in float64 and rounded once: the
result differs from the unfolded graph only by rounding.
Preconditions: s, b, W and any bias are constants of one float dtype; each folded Mul/Add feeds
only the node it folds into, and a producer's output only its Mul; before a Conv, the Mul/Add
output has the (known) shape of its variable input (a constant that broadcasts it to more
channels or a higher rank stays); an Add folds before a Conv
only when the Conv pads nothing (a padded zero would stand where u + b has b; a scaled zero stays
zero, so a Mul folds with any padding).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import GraphView, conv_weights, iter_ops, other_input

NAME = "scale_folding"
LEVEL = 2
_SUM_DTYPE = np.float64


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    shapes = infer_shapes(graph)  # folding changes no value's shape: valid throughout
    folded: list[str] = []
    changed = True
    while changed:  # a folded Mul may expose an Add (or the next Mul) to the same Conv
        changed = False
        for node in list(iter_ops(graph, "Mul")):
            if view.alive(node) and _fold_after(view, node, folded):
                changed = True
        for conv in list(iter_ops(graph, "Conv")):
            if view.alive(conv) and _fold_before(view, conv, shapes, folded):
                changed = True
    return folded


# ---- a Mul after the layer ---------------------------------------------------------------------
def _fold_after(view: GraphView, mul: Node, folded: list[str]) -> bool:
    for y in dict.fromkeys(mul.inputs):
        s_name = other_input(mul, y)
        producer = view.producer.get(y)
        if s_name is None or producer is None or view.sole_consumer(y) is not mul:
            continue
        s = view.constant(s_name)
        if s is None or s.dtype.kind != "f" or producer.domain not in ("", "ai.onnx"):
            continue
        rewrite = _AFTER.get(producer.op_type)
        new = rewrite(view, producer, s, mul.outputs[0]) if rewrite else None
        if new is not None:
            view.replace([producer, mul], [new])
            folded.append(f"{producer.name} <- {mul.name}")
            return True
    return False


def _conv_after(view: GraphView, conv: Node, s: np.ndarray, out: str) -> Node | None:
    weights = conv_weights(view, conv)
    if weights is None:
        return None
    w, bias = weights
    if s.dtype != w.dtype or s.ndim > w.ndim:
        return None
    per_channel = (1,) * (w.ndim - s.ndim) + s.shape == (1, w.shape[0]) + (1,) * (w.ndim - 2)
    if s.size != 1 and not per_channel:
        return None
    k = np.broadcast_to(s.astype(_SUM_DTYPE).reshape(-1), (w.shape[0],))
    w_new = _rounded(w.astype(_SUM_DTYPE) * k.reshape((-1,) + (1,) * (w.ndim - 1)), w)
    b_new = _rounded(bias.astype(_SUM_DTYPE) * k, w)
    return _conv_node(view, conv, w_new, b_new, conv.inputs[0], out)


def _matmul_after(view: GraphView, matmul: Node, s: np.ndarray, out: str) -> Node | None:
    b = view.constant(matmul.inputs[1])
    if b is None or b.ndim < 2 or b.dtype != s.dtype or s.shape not in ((), (1,), b.shape[-1:]):
        return None
    b_new = _rounded(b.astype(_SUM_DTYPE) * s.astype(_SUM_DTYPE).reshape(-1), b)
    inputs = [matmul.inputs[0], view.add_initializer(f"{matmul.inputs[1]}_scaled", b_new)]
    return Node("MatMul", inputs, [out], dict(matmul.attrs), matmul.name, matmul.domain)


def _gemm_after(view: GraphView, gemm: Node, s: np.ndarray, out: str) -> Node | None:
    b = view.constant(gemm.inputs[1])
    if b is None or b.ndim != 2 or b.dtype != s.dtype:
        return None
    trans_b = gemm.attrs.get("transB", 0)
    n = b.shape[0] if trans_b else b.shape[1]
    if s.shape not in ((), (1,), (n,), (1, n)):
        return None
    k = np.broadcast_to(s.astype(_SUM_DTYPE).reshape(-1), (n,))
    attrs = dict(gemm.attrs)
    c_new = None
    if len(gemm.inputs) > 2 and gemm.inputs[2]:
        c = view.constant(gemm.inputs[2])
        if c is None or c.ndim > 2 or c.dtype != b.dtype:
            return None
        full = np.broadcast_to(c.astype(_SUM_DTYPE), np.broadcast_shapes(c.shape, (1, n)))
        c_new = _rounded(float(attrs.get("beta", 1.0)) * full * k, b)
        attrs["beta"] = 1.0
    b_new = _rounded(b.astype(_SUM_DTYPE) * (k[:, None] if trans_b else k[None, :]), b)
    inputs = [gemm.inputs[0], view.add_initializer(f"{gemm.inputs[1]}_scaled", b_new)]
    if c_new is not None:
        inputs.append(view.add_initializer(f"{gemm.name}_bias_scaled", c_new))
    return Node("Gemm", inputs, [out], attrs, gemm.name, gemm.domain)


_AFTER = {"Conv": _conv_after, "MatMul": _matmul_after, "Gemm": _gemm_after}


# ---- a Mul or Add before a Conv ----------------------------------------------------------------
def _fold_before(view: GraphView, conv: Node, shapes: dict[str, Value], folded: list[str]) -> bool:
    x = conv.inputs[0]
    producer = view.producer.get(x)
    if (
        producer is None
        or producer.op_type not in ("Mul", "Add")
        or producer.domain
        not in (
            "",
            "ai.onnx",
        )
    ):
        return False
    if view.sole_consumer(x) is not conv:
        return False
    weights = conv_weights(view, conv)
    if weights is None:
        return False
    w, bias = weights
    for u in dict.fromkeys(producer.inputs):
        c_name = other_input(producer, u)
        c = view.constant(c_name) if c_name is not None else None
        if c is None or c.dtype != w.dtype or not _same_shape(shapes.get(u), shapes.get(x)):
            continue  # (c broadcasting u to more channels or a higher rank: the Conv needs it)
        per_input = _per_input_channel(c, w, int(conv.attrs.get("group", 1) or 1))
        if per_input is None:
            continue
        if producer.op_type == "Mul":
            w_new, b_new = _rounded(w.astype(_SUM_DTYPE) * per_input, w), bias
        elif _pads_nothing(conv):
            window_sums = (w.astype(_SUM_DTYPE) * per_input).reshape(w.shape[0], -1).sum(axis=1)
            w_new, b_new = None, _rounded(bias.astype(_SUM_DTYPE) + window_sums, w)
        else:
            continue
        view.replace([producer, conv], [_conv_node(view, conv, w_new, b_new, u, conv.outputs[0])])
        folded.append(f"{producer.name} -> {conv.name}")
        return True
    return False


def _per_input_channel(c: np.ndarray, w: np.ndarray, group: int) -> np.ndarray | None:
    """c (a scalar or one value per input channel of the Conv) laid out like W's input-channel
    axis: an array broadcasting against W (M, C/group, k...), or None for any other shape."""
    rank = w.ndim
    cin = w.shape[1] * group
    if c.ndim > rank:  # would raise the Conv input's rank
        return None
    if c.size == 1:
        return np.full((1,) * rank, float(c.reshape(-1)[0]), _SUM_DTYPE)
    if (1,) * (rank - c.ndim) + c.shape != (1, cin) + (1,) * (rank - 2):
        return None
    per_group = c.astype(_SUM_DTYPE).reshape(group, w.shape[1])  # [g, j] = c[g C/G + j]
    rows = np.repeat(per_group, w.shape[0] // group, axis=0)  # output channel m is in group m G/M
    return rows.reshape(w.shape[:2] + (1,) * (rank - 2))


def _same_shape(a: Value | None, b: Value | None) -> bool:
    """Both shapes known and equal (symbolic dims by name; an unknown dim is not equal)."""
    if a is None or b is None or a.shape is None or b.shape is None:
        return False
    return len(a.shape) == len(b.shape) and all(
        p == q and p is not None for p, q in zip(a.shape, b.shape)
    )


def _pads_nothing(conv: Node) -> bool:
    auto_pad = conv.attrs.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return True
    return auto_pad == "NOTSET" and not any(conv.attrs.get("pads") or ())


# ---- shared --------------------------------------------------------------------------------------
def _conv_node(
    view: GraphView, conv: Node, w: np.ndarray | None, bias: np.ndarray, x: str, out: str
) -> Node:
    """The folded Conv; w None keeps the Conv's own weights (an Add folded into the bias)."""
    inputs = [
        x,
        conv.inputs[1] if w is None else view.add_initializer(f"{conv.inputs[1]}_scaled", w),
        view.add_initializer(f"{conv.name}_bias_scaled", bias),
    ]
    return Node("Conv", inputs, [out], dict(conv.attrs), conv.name, conv.domain)


def _rounded(value: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(value, dtype=like.dtype)
