import numpy as np

from ..registry import reference_op
from ._quant import int_matmul, requantize, shifted


def _rows(param: np.ndarray) -> np.ndarray:
    """A per-row parameter of A (1-D, length M) shaped to broadcast over (..., M, N)."""
    return param.reshape(-1, 1) if param.ndim == 1 and param.size > 1 else param


@reference_op("QLinearMatMul", since=10, dtypes={"int8", "uint8"})
def qlinear_matmul_10(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
) -> np.ndarray:
    """y = saturate(rint((a - a_zp) @ (b - b_zp) * (a_scale * b_scale / y_scale)) + y_zp)"""
    acc = int_matmul(shifted(a, _rows(a_zero_point)), shifted(b, b_zero_point))
    f32 = np.float32
    multiplier = _rows(a_scale).astype(f32) * b_scale.astype(f32) / y_scale.astype(f32)
    dtype = a.dtype if y_zero_point is None else y_zero_point.dtype
    return requantize(acc, multiplier, y_zero_point, dtype)
