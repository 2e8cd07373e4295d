"""QGemm (com.microsoft): exact int32 Gemm of zero-point-shifted 8-bit operands, requantised in
float32 as onnxruntime's MLAS output processors do, so its result is reproduced bit for bit."""

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._qlinear import F32, scalar
from ._quant import int_matmul, requantize, shifted


def _per_column(param: np.ndarray, n: int, name: str) -> np.ndarray:
    """A scalar or a per-column (length N) parameter of B, shaped to broadcast over (M, N)."""
    if param.size == 1:
        return param.reshape(())
    if param.shape != (n,):
        raise OpArgumentError(f"{name} must be a scalar or 1-D of length N={n}: {param.shape}")
    return param


@reference_op("QGemm", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qgemm_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    c: np.ndarray | None = None,
    y_scale: np.ndarray | None = None,
    y_zero_point: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    transA: int = 0,
    transB: int = 0,
) -> np.ndarray:
    """acc = C + (op(A) - a_zp) @ (op(B) - b_zp) in int32, m = alpha * a_s * b_s / y_s (float32);
    y = saturate(rint(float32(acc) * m) + y_zp), or float32(acc) * m without y_zero_point"""
    if a.ndim != 2 or b.ndim != 2:
        raise OpArgumentError(f"QGemm needs 2-D A and B, got shapes {a.shape} and {b.shape}")
    a2, b2 = (a.T if transA else a), (b.T if transB else b)
    if a2.shape[1] != b2.shape[0]:
        raise OpArgumentError(f"QGemm inner dimensions differ: op(A) {a2.shape}, op(B) {b2.shape}")
    n = b2.shape[1]
    acc = int_matmul(shifted(a2, scalar(a_zero_point, "a_zero_point")),
                     shifted(b2, _per_column(b_zero_point, n, "b_zero_point")))  # fmt: skip
    if c is not None:
        if np.broadcast_shapes(c.shape, acc.shape) != acc.shape:
            raise OpArgumentError(f"C of shape {c.shape} does not broadcast to {acc.shape}")
        acc = acc + c.astype(np.int32)
    multiplier = F32(alpha) * F32(scalar(a_scale, "a_scale")) * _per_column(b_scale, n, "b_scale")
    multiplier = multiplier.astype(F32)
    if y_scale is not None:
        multiplier = multiplier / F32(scalar(y_scale, "y_scale"))
    if y_zero_point is None:
        return acc.astype(F32) * multiplier
    return requantize(acc, multiplier, scalar(y_zero_point, "y_zero_point"), y_zero_point.dtype)
