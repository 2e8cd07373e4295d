"""Backward kernels of the element-wise and normalisation VJPs (refimpl/grad), float32, mixed into
GradKernels: the reference's formulas with fewer temporaries (results written in place into
one buffer) and the broadcast sums taken over a 2-D or 3-D view of the cotangent.

- ReluGrad, SigmoidGrad, TanhGrad: one pass into one output (NaN propagates as the reference's).
- AddGrad, SubGrad, MulGrad with numpy broadcasting: an operand's cotangent summed over the
  axes broadcasting added or stretched; a trailing-axes operand (a bias) or a per-channel one
  (1, C, 1, ...) sums over a 2-D / 3-D view, other patterns the reference's way.
- SoftmaxGrad, LogSoftmaxGrad (opsets 1 and 13): over the last axis one C pass per row
  (src/normalize.c), else one product, one row sum, in place.
- LayerNormalizationGrad over the trailing axes with a scale (and bias) of the normalised shape,
  one C pass per row.
- GlobalAveragePoolGrad: dy / count broadcast (the reference's, without the float64 detour).
The summation order differs from the reference's only in the broadcast sums, so conformance
holds them to the float32 reduction tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel
from ..refimpl.grad.contract import unbroadcast
from ..refimpl.grad.grad_add import add_grad_7
from ..refimpl.grad.grad_global_average_pool import global_average_pool_grad_1
from ..refimpl.grad.grad_layer_normalization import layer_normalization_grad_17
from ..refimpl.grad.grad_log_softmax import log_softmax_grad_1, log_softmax_grad_13
from ..refimpl.grad.grad_mul import mul_grad_7
from ..refimpl.grad.grad_relu import relu_grad_6
from ..refimpl.grad.grad_sigmoid import sigmoid_grad_6
from ..refimpl.grad.grad_softmax import softmax_grad_1, softmax_grad_13
from ..refimpl.grad.grad_sub import sub_grad_7
from ..refimpl.grad.grad_tanh import tanh_grad_6
from ..refimpl.ir import Node, Value
from ._common import F32, all_float32, threads
from ._native import ext

Array = np.ndarray


def _like(x: Array) -> Array:
    return np.empty(np.shape(x), F32)


def _f32(node: Node, inputs: list[Value | None]) -> str | None:
    return all_float32(inputs)


def sum_to(g: Array, shape: tuple[int, ...]) -> Array:
    """unbroadcast(g, shape): g summed over the axes broadcasting added or stretched, over a 2-D
    view for a trailing-axes operand and a 3-D one for a (1, C, 1, ...) operand."""
    shape = tuple(shape)
    if g.shape == shape or g.size == 0:
        return unbroadcast(g, shape)
    lead = g.ndim - len(shape)
    full = (1,) * lead + shape
    g = np.ascontiguousarray(g)
    for k in range(g.ndim + 1):  # full = (1,)*k + g.shape[k:]: a bias over the last axes
        if full[:k] == (1,) * k and full[k:] == g.shape[k:]:
            return g.reshape(-1, math.prod(g.shape[k:])).sum(axis=0).reshape(shape)
    if g.ndim >= 3 and full[0] == 1 and full[1] == g.shape[1] and set(full[2:]) == {1}:
        n, c = g.shape[:2]
        return g.reshape(n, c, -1).sum(axis=2).sum(axis=0).reshape(shape)
    return unbroadcast(g, shape)


def binary_grads(op: str, dy: Array, a: Array, b: Array) -> tuple[Array, Array]:
    g = np.asarray(dy, F32)
    if op == "Mul":
        return sum_to(g * b, a.shape), sum_to(g * a, b.shape)
    da, db = sum_to(g, a.shape), sum_to(g, b.shape)
    if op == "Sub":
        db = np.negative(db)
    return da, db


def _rows(t: Array, axis: int) -> Array:
    axis = axis + t.ndim if axis < 0 else axis
    if not 0 <= axis <= max(t.ndim - 1, 0):
        raise RuntimeDecline(f"axis {axis} out of range (the reference reports it)")
    return t.reshape(math.prod(t.shape[:axis]), -1)


def softmax_grad(dy: Array, y: Array, axis: int, log: bool) -> Array:
    """dx = y (dy - Σ dy y) (Softmax) or dy - exp(y) Σ dy (LogSoftmax), summed along axis."""
    if not -y.ndim <= axis < max(y.ndim, 1):
        raise RuntimeDecline(f"axis {axis} out of range (the reference reports it)")
    g = np.asarray(dy, F32)
    if axis in (-1, y.ndim - 1) and y.size and g.shape == y.shape:  # rows: one C pass each
        n = y.shape[-1]
        out = np.empty(y.shape, F32)
        ext().softmax_grad_rows(np.ascontiguousarray(g).reshape(-1, n),
                                np.ascontiguousarray(y, F32).reshape(-1, n), out.reshape(-1, n),
                                log, threads())  # fmt: skip
        return out
    if log:
        out = np.exp(y)
        out *= g.sum(axis=axis, keepdims=True)
        return np.subtract(g, out, out=out)
    out = np.multiply(g, y)
    s = out.sum(axis=axis, keepdims=True)
    np.subtract(g, s, out=out)
    out *= y
    return out


def layer_norm_grad(
    dy: Array, x: Array, scale: Array, b: Array | None, axis: int, epsilon: float
) -> tuple[Array, Array, Array | None]:
    """The reference's formula over a (rows, D) view in one C pass per row (src/normalize.c):
    xh = (x - mean) r; dxh = dy scale; dx = r (dxh - mean(dxh) - xh mean(dxh xh));
    dscale = Σ_rows dy xh; db = Σ_rows dy."""
    if not -x.ndim <= axis < x.ndim:
        raise RuntimeDecline(f"axis {axis} out of range (the reference reports it)")
    ax = axis % x.ndim
    d = math.prod(x.shape[ax:])
    for p in (scale, b):
        if p is not None and p.shape != x.shape[ax:]:
            raise RuntimeDecline(f"scale or bias of shape {list(p.shape)}, not the normalised one")
    if d == 0:
        raise RuntimeDecline("an empty normalised shape (the reference's means of nothing)")
    x2 = np.ascontiguousarray(x, F32).reshape(-1, d)
    g2 = np.ascontiguousarray(dy, F32).reshape(-1, d)
    dx = np.empty(x2.shape, F32)
    dscale, db = np.empty(d, F32), np.empty(d, F32)
    ext().layernorm_grad_rows(g2, x2, np.ascontiguousarray(scale, F32).reshape(d), dx, dscale, db,
                              float(epsilon), threads())  # fmt: skip
    return (
        dx.reshape(x.shape),
        dscale.reshape(scale.shape),
        None if b is None else db.reshape(b.shape),
    )


class GradElementwiseKernels(KernelBackend):
    """Element-wise and normalisation VJPs (mixed into GradKernels)."""

    @kernel(relu_grad_6, dtypes={"float32"}, supports=_f32)
    def relu_grad(dy: Array, x: Array) -> tuple[Array]:
        return (np.multiply(dy, x > 0, out=_like(x)),)

    @kernel(sigmoid_grad_6, dtypes={"float32"}, supports=_f32)
    def sigmoid_grad(dy: Array, y: Array) -> tuple[Array]:
        out = np.multiply(dy, y, out=_like(y))  # (dy y)(1 - y): the reference's order, exactly
        out *= np.subtract(F32(1), y)
        return (out,)

    @kernel(tanh_grad_6, dtypes={"float32"}, supports=_f32)
    def tanh_grad(dy: Array, y: Array) -> tuple[Array]:
        out = np.multiply(y, y, out=_like(y))
        np.subtract(F32(1), out, out=out)
        return (np.multiply(dy, out, out=out),)

    @kernel(add_grad_7, dtypes={"float32"}, supports=_f32)
    def add_grad(dy: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return binary_grads("Add", dy, a, b)

    @kernel(sub_grad_7, dtypes={"float32"}, supports=_f32)
    def sub_grad(dy: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return binary_grads("Sub", dy, a, b)

    @kernel(mul_grad_7, dtypes={"float32"}, supports=_f32)
    def mul_grad(dy: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return binary_grads("Mul", dy, a, b)

    @kernel(softmax_grad_13, dtypes={"float32"}, supports=_f32)
    def softmax_grad_13(dy: Array, y: Array, *, axis: int = -1) -> tuple[Array]:
        return (softmax_grad(dy, y, axis, log=False),)

    @kernel(softmax_grad_1, dtypes={"float32"}, supports=_f32)
    def softmax_grad_1(dy: Array, y: Array, *, axis: int = 1) -> tuple[Array]:
        return (softmax_grad(_rows(dy, axis), _rows(y, axis), 1, log=False).reshape(y.shape),)

    @kernel(log_softmax_grad_13, dtypes={"float32"}, supports=_f32)
    def log_softmax_grad_13(dy: Array, y: Array, *, axis: int = -1) -> tuple[Array]:
        return (softmax_grad(dy, y, axis, log=True),)

    @kernel(log_softmax_grad_1, dtypes={"float32"}, supports=_f32)
    def log_softmax_grad_1(dy: Array, y: Array, *, axis: int = 1) -> tuple[Array]:
        return (softmax_grad(_rows(dy, axis), _rows(y, axis), 1, log=True).reshape(y.shape),)

    @kernel(layer_normalization_grad_17, dtypes={"float32"}, supports=_f32)
    def layer_normalization_grad(
        dy: Array, x: Array, scale: Array, b: Array | None = None, *, axis: int = -1,
        epsilon: float = 1e-5, stash_type: int = 1,
    ) -> tuple[Array, Array, Array | None]:  # fmt: skip
        return layer_norm_grad(dy, x, scale, b, axis, epsilon)

    @kernel(global_average_pool_grad_1, dtypes={"float32"}, supports=_f32)
    def global_average_pool_grad(dy: Array, x: Array) -> tuple[Array]:
        count = max(math.prod(x.shape[2:]), 1)
        out = np.empty(x.shape, F32)
        out[...] = (np.asarray(dy, F32) / F32(count)).reshape(*x.shape[:2], *[1] * (x.ndim - 2))
        return (out,)
