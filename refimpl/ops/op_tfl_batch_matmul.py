import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("BatchMatMul", since=1, domain="tflite", dtypes={"int8"})
def tfl_batch_matmul_1(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    y_scale: np.ndarray,
    y_zero_point: np.ndarray,
    *,
    adj_x: int = 0,
    adj_y: int = 0,
) -> np.ndarray:
    """y[..., i, j] = clamp(MBQM(sum_k (a[..., i, k] - a_zp) * (b[..., k, j] - b_zp), M, S) + y_zp)
    with int32 accumulation, batch dims broadcast, adj_x / adj_y transposing the last two dims;
    M, S = QuantizeMultiplier(double(float32(a_s * b_s)) / y_s)"""
    if a.ndim < 2 or b.ndim < 2:
        raise OpArgumentError(f"tflite::BatchMatMul needs rank >= 2, got {a.ndim} and {b.ndim}")
    lhs = a.astype(np.float64) - fp.zero_point(a_zero_point, "a_zero_point")
    rhs = b.astype(np.float64) - fp.zero_point(b_zero_point, "b_zero_point")
    if adj_x:
        lhs = np.swapaxes(lhs, -1, -2)
    if adj_y:
        rhs = np.swapaxes(rhs, -1, -2)
    if lhs.shape[-1] != rhs.shape[-2]:
        raise OpArgumentError(f"inner dims differ: {list(lhs.shape)} @ {list(rhs.shape)}")
    acc = np.matmul(lhs, rhs).astype(np.int64)  # exact: far below 2**53
    xs, ys = fp.scalar_param(a_scale, "a_scale"), fp.scalar_param(y_scale, "y_scale")
    mult, shift = fp.quantize_multiplier(
        np.float64(xs * fp.scalar_param(b_scale, "b_scale")) / np.float64(ys)
    )
    y = fp.multiply_by_quantized_multiplier(fp.wrap_int32(acc), mult, shift)
    return fp.saturate_cast(y + fp.zero_point(y_zero_point, "y_zero_point"), -128, 127, "int8")
