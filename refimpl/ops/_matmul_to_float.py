"""The integer matmul with float32 output shared by MatMulIntegerToFloat and DynamicQuantizeMatMul
(onnxruntime's MLAS scale-bias output processor: one float32 multiply, then the bias)."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError
from ._qlinear import F32
from ._quant import int_matmul, shifted


def column_param(p: np.ndarray | None, b: np.ndarray, name: str) -> np.ndarray | None:
    """A scale or zero point of B: a scalar, one per column (N,), or (..., 1, N) per matrix."""
    if p is None or p.size == 1:
        return None if p is None else p.reshape(())
    n = b.shape[-1]
    if p.shape == (n,) or (p.ndim == b.ndim and p.shape[-2:] == (1, n)):
        return p
    raise OpArgumentError(f"{name} of shape {list(p.shape)} must be a scalar or per column of B")


def matmul_to_float(
    a: np.ndarray,
    a_zero_point: np.ndarray | None,
    a_scale: np.ndarray,
    b: np.ndarray,
    b_zero_point: np.ndarray | None,
    b_scale: np.ndarray,
    bias: np.ndarray | None,
) -> np.ndarray:
    """y = float32(acc) * float32(a_scale * b_scale) + bias, acc = (a - a_zp) @ (b - b_zp), int32"""
    if a.ndim < 1 or b.ndim < 1 or a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise OpArgumentError(f"matmul inner dimensions differ: A {a.shape}, B {b.shape}")
    b_zp = column_param(b_zero_point, b, "b_zero_point")
    acc = int_matmul(shifted(a, a_zero_point), shifted(b, b_zp))
    b_s = np.asarray(column_param(b_scale, b, "b_scale"), F32)
    scale = (np.asarray(a_scale, F32) * b_s).astype(F32)
    y = acc.astype(F32) * scale
    if bias is not None:
        if bias.shape != (b.shape[-1],):
            raise OpArgumentError(f"bias must have shape [{b.shape[-1]}], got {list(bias.shape)}")
        y = y + bias.astype(F32)
    return y.astype(F32)
