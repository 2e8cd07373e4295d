"""QLinearAdd (com.microsoft), defined as onnxruntime's SSE2 kernel computes it in float32.

onnxruntime differs by at most 1 where a float32 rounding lands next to a .5 tie: its AVX2 kernel
fuses the multiply-adds, a scalar operand is folded into the constant first, and its NEON kernel
uses 22-bit fixed-point multipliers.
"""

import numpy as np

from ..registry import reference_op
from ._qlinear import F32, round_biased, same_type, scalar, zero_point_of


@reference_op("QLinearAdd", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_add_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray | None,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray | None,
    c_scale: np.ndarray,
    c_zero_point: np.ndarray | None = None,
) -> np.ndarray:
    """c = saturate(rint((k + a*ra) + b*rb)), ra = a_s/c_s, rb = b_s/c_s, k = c_zp - (ra*a_zp +
    rb*b_zp), each step one float32 operation; a and b broadcast"""
    same_type(a, b)
    za = zero_point_of(a_zero_point, a, "A_zero_point")
    zb = zero_point_of(b_zero_point, b, "B_zero_point")
    zc = zero_point_of(c_zero_point, a, "C_zero_point")
    sc = F32(scalar(c_scale, "C_scale"))
    ra, rb = F32(scalar(a_scale, "A_scale")) / sc, F32(scalar(b_scale, "B_scale")) / sc
    fixed = F32(zc) - (ra * F32(za) + rb * F32(zb))
    value = (fixed + a.astype(F32) * ra) + b.astype(F32) * rb
    return round_biased(value, a.dtype)
