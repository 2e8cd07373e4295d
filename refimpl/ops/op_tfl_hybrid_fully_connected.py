import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from . import _tflite_fixed_point as fp
from . import _tflite_hybrid as hy


@reference_op("HybridFullyConnected", since=1, domain="tflite", dtypes={"float32"})
def tfl_hybrid_fully_connected_1(
    x: np.ndarray,
    w: np.ndarray,
    w_scale: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    activation: str = "NONE",
    asymmetric_quantize_inputs: int = 0,
) -> np.ndarray:
    """y[b, n] = clamp(bias[n] + float32(sum_k w[n, k] (q[b, k] - zp[b])) * float32(s[b] w_s[n]))
    with q, s, zp the per-row quantisation of float x ([-1, K], K = w's dim 1; symmetric, or
    asymmetric with a zero point), int8 weights [N, K] (EvalHybridDense)"""
    if w.ndim != 2 or w.dtype != np.int8 or w.shape[1] == 0 or x.size % w.shape[1]:
        raise OpArgumentError(
            f"tflite::HybridFullyConnected needs int8 weights [N, K] with K dividing x's size, "
            f"got w {w.dtype}{list(w.shape)} and x {list(x.shape)}"
        )
    n = w.shape[0]
    rows = x.reshape(-1, w.shape[1]).astype(np.float32)
    if asymmetric_quantize_inputs:
        q, factor, offset = hy.asymmetric_quantize(rows)
    else:
        q, factor = hy.symmetric_quantize(rows)
        offset = np.zeros(rows.shape[0], np.int64)
    row_sums = np.asarray(w, np.int64).sum(axis=1)
    acc = fp.int_dot(q, w.T) - row_sums[None, :] * offset[:, None]
    scale = (factor[:, None] * fp.scales(w_scale, n, "w_scale")[None, :]).astype(np.float32)
    y = (fp.wrap_int32(acc).astype(np.float32) * scale).astype(np.float32)
    if bias is not None:
        y = (np.asarray(bias, np.float32).reshape(1, n) + y).astype(np.float32)
    return hy.clamp(y, activation)
