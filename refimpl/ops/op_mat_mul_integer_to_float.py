"""MatMulIntegerToFloat (com.microsoft): an exact int32 matmul scaled to float32 with onnxruntime's
arithmetic (one float32 multiply by a_scale * b_scale, then the bias). onnxruntime applies a
non-scalar a_scale after the bias instead (a different float rounding, and a scaled bias)."""

import numpy as np

from ..registry import reference_op
from ._matmul_to_float import matmul_to_float
from ._qlinear import scalar


@reference_op("MatMulIntegerToFloat", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def mat_mul_integer_to_float_1(
    a: np.ndarray,
    b: np.ndarray,
    a_scale: np.ndarray,
    b_scale: np.ndarray,
    a_zero_point: np.ndarray | None = None,
    b_zero_point: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """y = float32((a - a_zp) @ (b - b_zp)) * (a_scale * b_scale) + bias, the matmul in int32;
    b_scale and b_zero_point per tensor or per column of B"""
    a_zp = None if a_zero_point is None else scalar(a_zero_point, "a_zero_point")
    return matmul_to_float(a, a_zp, a_scale, b, b_zero_point, b_scale, bias)
