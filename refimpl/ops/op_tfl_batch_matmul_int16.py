import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp


@reference_op("BatchMatMulInt16", since=1, domain="tflite", dtypes={"int16"})
def tfl_batch_matmul_int16_1(
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
    """y[..., i, j] = clamp(MBQM64(sum_k a[..., i, k] * b[..., k, j], M, S)) of an int16 a and an
    int16 or int8 b (zero points 0), int64 accumulation, batch dims broadcast, adj_x / adj_y
    transposing the last two dims; M, S = QuantizeMultiplier(double(float32(a_s * b_s)) / y_s),
    MBQM64 the int64-accumulator MultiplyByQuantizedMultiplier"""
    if a.ndim < 2 or b.ndim < 2:
        raise OpArgumentError(f"tflite::BatchMatMulInt16 needs rank >= 2, got {a.ndim}, {b.ndim}")
    if b.dtype not in (np.int16, np.int8):
        raise OpArgumentError(f"tflite::BatchMatMulInt16 takes an int16 or int8 b, got {b.dtype}")
    for zp, what in ((a_zero_point, "a"), (b_zero_point, "b"), (y_zero_point, "y")):
        if fp.zero_point(zp, f"{what}_zero_point") != 0:
            raise OpArgumentError(f"TFLite's int16 BATCH_MATMUL needs {what}_zero_point 0")
    lhs, rhs = a.astype(np.int64), b.astype(np.int64)
    if adj_x:
        lhs = np.swapaxes(lhs, -1, -2)
    if adj_y:
        rhs = np.swapaxes(rhs, -1, -2)
    if lhs.shape[-1] != rhs.shape[-2]:
        raise OpArgumentError(f"inner dims differ: {list(lhs.shape)} @ {list(rhs.shape)}")
    acc = np.matmul(lhs, rhs)  # int64: exact
    xs, ys = fp.scalar_param(a_scale, "a_scale"), fp.scalar_param(y_scale, "y_scale")
    mult, shift = fp.quantize_multiplier(
        np.float64(xs * fp.scalar_param(b_scale, "b_scale")) / np.float64(ys)
    )
    y = fp.multiply_by_quantized_multiplier_int64(acc, mult, shift)
    return fp.saturate_cast(y, -(2**15), 2**15 - 1, "int16")
