"""Training kernels on src/train.c, float32, with the run's threads (results do not depend on
the thread count: every parallel loop is over channels, planes or fixed chunks).

- BatchNormalization-14 in training mode (claimed through elementwise_kernels' BatchNormalization
  kernel, which runs inference mode): the batch moments per channel in two passes (float64
  across blocks), y = x k + shift with the reference's float64 per-channel terms, and the running
  statistics updated as the reference does (m old + (1 - m) batch, in the statistics' dtype).
- BatchNormalizationGrad in training mode: (dx, dscale, db) in two passes over x and dy per
  channel (the moments recomputed from x, as the reference does).
- ClipGrad with scalar bounds (ReLU6): dx and both bound cotangents in one pass.
- MaxPoolGrad with non-overlapping windows: each window's first maximum (its first NaN) gets dy.
The math is the reference's (each function's docstring names it); only the summation order
differs, so conformance holds them to the float32 reduction tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ._common import F32, all_float32, static_shape, threads
from ._native import ext

Array = np.ndarray


def _flat(a: Array) -> Array:
    return np.ascontiguousarray(a, F32).reshape(-1)


def _ncl(x: Array) -> tuple[int, int, int]:
    if x.ndim < 2 or x.size == 0:  # an empty batch's moments are NaN: the reference's warning
        raise RuntimeDecline(f"rank {x.ndim} or empty input {list(x.shape)} (N, C, ... only)")
    n, c = x.shape[:2]
    return n, c, math.prod(x.shape[2:])


def bn_train_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    """Why training-mode BatchNormalization-14 does not run here, or None."""
    x = static_shape(inputs[0])
    return all_float32(inputs[:5]) or (None if x and len(x) >= 2 else "rank < 2 or unknown")


def prepare_bn_train(reference: Callable[..., Any], node: Node) -> Callable[..., Any]:
    """The per-node function of training-mode BatchNormalization-14 (the reference's outputs:
    y, running mean, running var)."""
    eps = float(node.attrs.get("epsilon", 1e-5))
    momentum = float(node.attrs.get("momentum", 0.9))

    def run(x: Array, scale: Array, b: Array, input_mean: Array, input_var: Array,
            **_: Any) -> tuple[Array, Array, Array]:  # fmt: skip
        n, c, ll = _ncl(x)
        if scale.size != c or b.size != c or input_mean.size != c or input_var.size != c:
            raise RuntimeDecline(f"per-channel inputs of other than {c} values")
        y = output_array(x.shape, F32)
        mean, var = np.empty(c, F32), np.empty(c, F32)
        ext().bn_train_forward(_flat(x), _flat(scale), _flat(b), y.reshape(-1), mean, var,
                               n, c, ll, eps, threads())  # fmt: skip
        # as the reference: old m + batch (1 - m), in the statistics' (float32) arithmetic
        running_mean = input_mean * momentum + mean.reshape(input_mean.shape) * (1 - momentum)
        running_var = input_var * momentum + var.reshape(input_var.shape) * (1 - momentum)
        return y, running_mean.astype(F32, copy=False), running_var.astype(F32, copy=False)

    run.__wrapped__ = reference  # type: ignore[attr-defined]
    return run


def batch_norm_grad_kernel(
    dy: Array, x: Array, scale: Array, b: Array, mean: Array, var: Array, *,
    epsilon: float = 1e-5, momentum: float = 0.9, training_mode: int = 0, num_outputs: int = 1,
) -> tuple[Array | None, ...]:  # fmt: skip
    """training mode: db = Σ dy, dscale = Σ dy xh, dx = scale r / m (m dy - db - xh dscale)
    (refimpl/grad/grad_batch_normalization.py); the running statistics get none."""
    if not training_mode:
        raise RuntimeDecline("inference mode")
    n, c, ll = _ncl(x)
    if dy.shape != x.shape or scale.size != c:
        raise RuntimeDecline(f"dy {list(dy.shape)} or scale {list(scale.shape)} vs x")
    dx, dscale, db = np.empty(x.shape, F32), np.empty(c, F32), np.empty(c, F32)
    ext().bn_train_grad(_flat(dy), _flat(x), _flat(scale), dx.reshape(-1), dscale, db, n, c, ll,
                        float(epsilon), threads())  # fmt: skip
    return dx, dscale.reshape(scale.shape), db.reshape(b.shape), None, None


def clip_masked(dy: Array, x: Array, lo: float, hi: float) -> tuple[Array, float, float]:
    """(dx, Σ dy where x < lo, Σ dy where x > hi) for lo <= hi: dx = dy where lo <= x <= hi,
    else 0 (NaN x passes dy: the reference's masks are false for NaN)."""
    if lo > hi or math.isnan(lo) or math.isnan(hi):
        raise RuntimeDecline("min > max or a NaN bound")
    if np.shape(dy) != np.shape(x):
        raise RuntimeDecline(f"dy {list(np.shape(dy))} does not match x {list(np.shape(x))}")
    dx = np.empty(np.shape(x), F32)
    dlo, dhi = ext().clip_grad(_flat(dy), _flat(x), lo, hi, dx.reshape(-1), threads())
    return dx, dlo, dhi


def max_pool_grad_kernel(
    dy: Array, x: Array, kernel_shape: list[int], strides: list[int] | None = None
) -> tuple[Array]:
    """Windows kernel_shape at strides kernel_shape, no pads: dx[p] = dy[window] at each
    window's first maximum (the forward's max_pool_indices pick it; a NaN is the maximum)."""
    if x.ndim != 4 or len(kernel_shape) != 2:
        raise RuntimeDecline(f"rank {x.ndim} input (2-D pooling only)")
    if strides is not None and list(strides) != list(kernel_shape):
        raise RuntimeDecline("overlapping or gapped windows (strides != kernel_shape)")
    n, c, h, wd = x.shape
    kh, kw = kernel_shape
    if tuple(dy.shape) != (n, c, h // kh, wd // kw):
        raise RuntimeDecline(f"dy {list(dy.shape)} does not match x {list(x.shape)}")
    dx = np.empty(x.shape, F32)
    ext().max_pool_grad(_flat(dy), _flat(x), dx.reshape(-1), n * c, h, wd, kh, kw, threads())
    return (dx,)
