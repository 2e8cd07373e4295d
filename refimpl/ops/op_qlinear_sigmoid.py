"""QLinearSigmoid (com.microsoft): a lookup table over the 256 input codes, built as onnxruntime
builds it (float32 dequantise, sigmoid, float32 quantise) except that the sigmoid here is the
correctly rounded float32 value. onnxruntime evaluates a rational approximation
(MlasComputeLogistic, error about 1e-7), so its table may differ by 1 where sigmoid(v) / y_scale
is within that error of a .5 tie."""

import numpy as np

from ..registry import reference_op
from ._qlinear import F32, dequantize_f32, lookup, quantize_f32, scalar, zero_point_of


@reference_op("QLinearSigmoid", since=1, domain="com.microsoft", dtypes={"int8", "uint8"})
def qlinear_sigmoid_1(
    x: np.ndarray,
    x_scale: np.ndarray,
    x_zero_point: np.ndarray | None,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray | None = None,
) -> np.ndarray:
    """y = saturate(rint(float32(sigmoid(v)) / y_scale) + y_zp), v = x_scale * (x - x_zp) in
    float32, sigmoid(v) = 1 / (1 + exp(-v)) rounded once to float32"""
    sx, sy = scalar(x_scale, "X_scale"), scalar(y_scale, "Y_scale")
    zx = zero_point_of(x_zero_point, x, "X_zero_point")
    zy = zero_point_of(y_zero_point, x, "Y_zero_point")

    def table(codes: np.ndarray) -> np.ndarray:
        v = dequantize_f32(codes, sx, zx).astype(np.float64)
        with np.errstate(over="ignore"):  # exp(-v) -> inf gives sigmoid 0, as it should
            return quantize_f32((1.0 / (1.0 + np.exp(-v))).astype(F32), sy, zy, x.dtype)

    return lookup(x, table)
