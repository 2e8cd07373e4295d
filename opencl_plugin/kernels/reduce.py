"""Softmax, LayerNormalization, ReduceMean and ReduceSum on reduce.cl (rows of x viewed as
(outer, L, inner))."""

from __future__ import annotations

import math

from ...refimpl.ir import Node, Value
from ..builder import Builder, f32, i32
from ._checks import float32_inputs, is_const


def _axis(node: Node, rank: int, default: int) -> int:
    a = int(node.attrs.get("axis", default))
    return a + rank if a < 0 else a


def supports_softmax(
    node: Node, inputs: list[Value | None], consts: dict, opset: int
) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    rank = len(inputs[0].shape)  # type: ignore[union-attr]
    return None if rank >= 1 else "scalar Softmax"


def softmax_geometry(shape: tuple[int, ...], node: Node, opset: int) -> tuple[int, int, int]:
    """(L, inner, rows): Softmax's rows of length L, `inner` apart, as the node's opset defines
    its axis (opset < 13: the input coerced to 2-D at the axis)."""
    ax = _axis(node, len(shape), -1 if opset >= 13 else 1)
    if opset >= 13:
        L, inner = shape[ax], math.prod(shape[ax + 1 :])
    else:
        L, inner = math.prod(shape[ax:]), 1
    return L, inner, math.prod(shape) // max(L, 1)


def lower_softmax(bld: Builder, node: Node, opset: int) -> None:
    L, inner, total = softmax_geometry(bld.shape(node.inputs[0]), node, opset)
    x, y = bld.ref(node.inputs[0]), bld.out(node.outputs[0])
    if inner % 8 == 0:  # 8 rows side by side: one work-item in vector operations
        bld.launch("softmax8_f32", (total // 8,), [x, y, i32(L), i32(inner), i32(total // 8)])
        return
    bld.launch("softmax_f32", (total,), [x, y, i32(L), i32(inner), i32(total)])


def supports_layernorm(
    node: Node, inputs: list[Value | None], consts: dict, opset: int
) -> str | None:
    why = float32_inputs(inputs)
    if why:
        return why
    if any(o for o in node.outputs[1:]):
        return "Mean / InvStdDev outputs"
    if int(node.attrs.get("stash_type", 1)) != 1:
        return "stash_type other than float32"
    x = inputs[0].shape  # type: ignore[union-attr]
    ax = _axis(node, len(x), -1)
    row = x[ax:]
    for i in (1, 2):
        if len(node.inputs) > i and node.inputs[i]:
            if not is_const(consts, node.inputs[i]):
                return "scale / bias not constant"
            if tuple(consts[node.inputs[i]].shape[-len(row) :]) != tuple(row):
                return "scale / bias broadcast over the row"
            if (
                consts[node.inputs[i]].size != math.prod(row)
                if all(isinstance(d, int) for d in row)
                else False
            ):
                return "scale / bias of another size than a row"
    return None


def lower_layernorm(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    ax = _axis(node, len(shape), -1)
    L = math.prod(shape[ax:])
    rows = math.prod(shape) // max(L, 1)
    scale = bld.weight(node.inputs[1], bld.const(node.inputs[1]).reshape(-1))
    bn = node.inputs[2] if len(node.inputs) > 2 else ""
    bias = bld.weight(bn, bld.const(bn).reshape(-1)) if bn else None
    eps = f32(float(node.attrs.get("epsilon", 1e-5)))
    args = [bld.ref(node.inputs[0]), bld.out(node.outputs[0]), scale, bias, i32(bias is not None)]
    args += [i32(L), eps, i32(rows)]
    bld.launch("layernorm_f32", (rows,), args)


def _reduce_axes(node: Node, rank: int, consts: dict, opset: int) -> list[int] | str:
    if opset >= 18 or (node.op_type == "ReduceSum" and opset >= 13):
        name = node.inputs[1] if len(node.inputs) > 1 else ""
        if name and name not in consts:
            return "axes are not constant"
        axes = [int(a) for a in consts[name].reshape(-1)] if name else []
    else:
        axes = [int(a) for a in node.attrs.get("axes") or []]
    if not axes:
        if int(node.attrs.get("noop_with_empty_axes", 0)):
            return "noop_with_empty_axes"
        axes = list(range(rank))
    axes = sorted(a + rank if a < 0 else a for a in axes)
    if axes != list(range(axes[0], axes[-1] + 1)):
        return "reduced axes are not contiguous"
    return axes


def supports_reduce(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    axes = _reduce_axes(node, len(inputs[0].shape), consts, opset)  # type: ignore[union-attr]
    return axes if isinstance(axes, str) else None


def lower_reduce(bld: Builder, node: Node, opset: int) -> None:
    shape = bld.shape(node.inputs[0])
    axes = _reduce_axes(node, len(shape), bld.constants, opset)
    assert not isinstance(axes, str)
    L = math.prod(shape[axes[0] : axes[-1] + 1])
    inner = math.prod(shape[axes[-1] + 1 :])
    total = math.prod(shape) // max(L, 1)
    mode = 1 if node.op_type == "ReduceMean" else 0
    args = [bld.ref(node.inputs[0]), bld.out(node.outputs[0]), i32(L), i32(inner), i32(total)]
    bld.launch("reduce_f32", (total,), args + [i32(mode)])


SUPPORT = {
    "Softmax": supports_softmax,
    "LayerNormalization": supports_layernorm,
    "ReduceMean": supports_reduce,
    "ReduceSum": supports_reduce,
}
LOWER = {
    "Softmax": lower_softmax,
    "LayerNormalization": lower_layernorm,
    "ReduceMean": lower_reduce,
    "ReduceSum": lower_reduce,
}
# these take the node's opset as an extra argument
WITH_OPSET = {"Softmax", "LayerNormalization", "ReduceMean", "ReduceSum"}
