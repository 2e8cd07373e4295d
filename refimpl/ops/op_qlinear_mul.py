"""QLinearMul (com.microsoft), defined as onnxruntime's x86 kernel computes it: an exact integer
product, one float32 multiply and the zero point added before rounding. onnxruntime's portable C++
kernel (other CPUs) divides in float32 instead and may differ by 1 next to a .5 tie."""

import numpy as np

from ..registry import reference_op
from ._qlinear import F32, round_biased, same_type, scalar, zero_point_of


@reference_op("QLinearMul", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_mul_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray | None,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray | None,
    c_scale: np.ndarray,
    c_zero_point: np.ndarray | None = None,
) -> np.ndarray:
    """c = saturate(rint(float32((a - a_zp) * (b - b_zp)) * r + c_zp)), r = a_s * b_s / c_s in
    float32; the product is exact in int32; a and b broadcast"""
    same_type(a, b)
    za = zero_point_of(a_zero_point, a, "A_zero_point")
    zb = zero_point_of(b_zero_point, b, "B_zero_point")
    zc = zero_point_of(c_zero_point, a, "C_zero_point")
    ratio = F32(scalar(a_scale, "A_scale")) * F32(scalar(b_scale, "B_scale"))
    ratio = ratio / F32(scalar(c_scale, "C_scale"))
    product = (a.astype(np.int32) - za) * (b.astype(np.int32) - zb)
    return round_biased(product.astype(F32) * ratio + F32(zc), a.dtype)
