from collections.abc import Callable

import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._attention import precision_dtype
from ._precision import widen

Modifier = Callable[..., list]


def _modify(body: Modifier | None, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if body is None:
        return x
    out = body(x)
    if len(out) != 1 or np.shape(out[0]) != x.shape:
        raise OpArgumentError(f"FlexAttention modifier must return one tensor of shape {x.shape}")
    return np.asarray(out[0]).astype(dtype, copy=False)


@reference_op("FlexAttention", since=1, domain="ai.onnx.preview", dtypes=FLOAT)
def flex_attention_1(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    scale: float | None = None,
    softmax_precision: int | None = None,
    score_mod: Modifier | None = None,
    prob_mod: Modifier | None = None,
) -> np.ndarray:
    """y = prob_mod(softmax(score_mod(q k^T * scale))) v; query head h reads kv head h // group"""
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise OpArgumentError(f"FlexAttention needs rank-4 Q, K, V, got {q.shape}, {k.shape}")
    q_heads, kv_heads = q.shape[1], k.shape[1]
    if kv_heads != v.shape[1] or q_heads % kv_heads or k.shape[2] != v.shape[2]:
        raise OpArgumentError(f"FlexAttention heads/lengths disagree: {q.shape, k.shape, v.shape}")
    if softmax_precision is not None:
        cd = precision_dtype(softmax_precision)
    else:
        cd = np.dtype(np.float64 if q.dtype == np.float64 else np.float32)
    root = widen(q).dtype.type(
        np.sqrt(np.float32(scale if scale is not None else 1 / np.sqrt(q.shape[3])))
    )
    kk = np.repeat(widen(k), q_heads // kv_heads, axis=1)
    scores = ((widen(q) * root) @ (kk * root).swapaxes(-1, -2)).astype(cd)
    scores = widen(_modify(score_mod, scores, cd))
    e = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    probs = (e / np.sum(e, axis=-1, keepdims=True)).astype(cd)
    probs = _modify(prob_mod, probs, cd)
    vv = np.repeat(v, q_heads // kv_heads, axis=1).astype(cd)
    return (widen(probs) @ widen(vv)).astype(v.dtype)
