"""DynamicQuantizeMatMul (com.microsoft): A is quantised to uint8 exactly as DynamicQuantizeLinear
does (onnxruntime's GetQuantizationParameter and MlasQuantizeLinear compute the same), then
multiplied as MatMulIntegerToFloat; onnxruntime's result is reproduced to the last float32 bit
except where its GEMM adds the bias with a fused multiply-add."""

import numpy as np

from ..registry import reference_op
from ._matmul_to_float import matmul_to_float
from .op_dynamic_quantize_linear import dynamic_quantize_linear_11


@reference_op("DynamicQuantizeMatMul", since=1, domain="com.microsoft", dtypes={"float32"})
def dynamic_quantize_mat_mul_1(
    a: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """(q, s, zp) = DynamicQuantizeLinear(a); y = float32((q - zp) @ (b - b_zp)) * (s * b_scale)
    + bias, the matmul in int32"""
    q, a_scale, a_zero_point = dynamic_quantize_linear_11(a)
    return matmul_to_float(q, a_zero_point, a_scale, b, b_zero_point, b_scale, bias)
