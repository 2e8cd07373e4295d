"""QLinearLeakyRelu (com.microsoft): a lookup table over the 256 input codes, built in float32
exactly as onnxruntime builds it, so onnxruntime's result is reproduced bit for bit."""

import numpy as np

from ..registry import reference_op
from ._qlinear import F32, dequantize_f32, lookup, quantize_f32, scalar, zero_point_of


@reference_op("QLinearLeakyRelu", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_leaky_relu_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
    *,
    alpha: float = 0.01,
) -> np.ndarray:
    """y = saturate(rint(f(v) / y_scale) + y_zp), v = x_scale * (x - x_zp), f(v) = v if v >= 0
    else alpha * v; every operation in float32"""
    sx, sy = scalar(x_scale, "X_scale"), scalar(y_scale, "Y_scale")
    zx = zero_point_of(x_zero_point, x, "X_zero_point")
    zy = zero_point_of(y_zero_point, x, "Y_zero_point")

    def table(codes: np.ndarray) -> np.ndarray:
        v = dequantize_f32(codes, sx, zx)
        return quantize_f32(np.where(v >= 0, v, F32(alpha) * v), sy, zy, x.dtype)

    return lookup(x, table)
