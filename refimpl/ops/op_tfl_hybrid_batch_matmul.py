import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_hybrid as hy


@reference_op("HybridBatchMatMul", since=1, domain="tflite", dtypes={"float32"})
def tfl_hybrid_batch_matmul_1(
    a: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    *,
    adj_x: int = 0,
    adj_y: int = 0,
    asymmetric_quantize_inputs: int = 0,
) -> np.ndarray:
    """y[..., m, n] = float32(s[m] b_s[n]) * float32(int32(float32(acc) - float32(rowsum[n] zp[m])))
    with acc = sum_k q[..., m, k] b[..., k, n]: each row of float a quantised at run time (q, s,
    zp; symmetric, or asymmetric), int8 b, batch dims broadcast, adj_x / adj_y transposing the
    last two dims (the reference kernel's hybrid BatchMatMul)"""
    if a.ndim < 2 or b.ndim < 2 or b.dtype != np.int8:
        raise OpArgumentError(
            f"tflite::HybridBatchMatMul needs rank >= 2 and an int8 b, got a {list(a.shape)}, "
            f"b {b.dtype}{list(b.shape)}"
        )
    lhs = np.swapaxes(a, -1, -2) if adj_x else a
    rhs = np.swapaxes(b, -1, -2) if adj_y else b
    if lhs.shape[-1] != rhs.shape[-2]:
        raise OpArgumentError(f"inner dims differ: {list(lhs.shape)} @ {list(rhs.shape)}")
    n = rhs.shape[-1]
    rows = np.ascontiguousarray(lhs, np.float32).reshape(-1, lhs.shape[-1])
    if asymmetric_quantize_inputs:
        q, factor, offset = hy.asymmetric_quantize(rows)
    else:
        q, factor = hy.symmetric_quantize(rows)
        offset = np.zeros(rows.shape[0], np.int64)
    q = q.reshape(lhs.shape)
    acc = np.matmul(q.astype(np.float64), rhs.astype(np.float64)).astype(np.int64)
    row_sums = rhs.astype(np.int64).sum(axis=-2, keepdims=True).astype(np.float32)
    shape = (*lhs.shape[:-1], 1)
    product = (row_sums * offset.reshape(shape).astype(np.float32)).astype(np.float32)
    total = (fp.wrap_int32(acc).astype(np.float32) - product).astype(np.float32)
    total = np.trunc(total).astype(np.float32)  # back to int32 (truncating), then to float
    scale = (factor.reshape(shape) * fp.scales(b_scale, n, "b_scale")).astype(np.float32)
    return (scale * total).astype(np.float32)
