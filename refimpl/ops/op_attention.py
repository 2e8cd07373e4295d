import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._attention import AttentionAttrs, attend

A = np.ndarray
Opt = np.ndarray | None
Outputs = tuple[A, A, A, A]


@reference_op("Attention", since=23, dtypes=FLOAT)
def attention_23(
    q: A,
    k: A,
    v: A,
    attn_mask: Opt = None,
    past_key: Opt = None,
    past_value: Opt = None,
    *,
    is_causal: int = 0,
    kv_num_heads: int | None = None,
    q_num_heads: int | None = None,
    qk_matmul_output_mode: int = 0,
    scale: float | None = None,
    softcap: float = 0.0,
    softmax_precision: int | None = None,
) -> Outputs:
    """y = softmax(softcap(q k^T * scale) + mask + causal bias) v, with a past KV cache"""
    return attention_24(
        q,
        k,
        v,
        attn_mask,
        past_key,
        past_value,
        None,
        is_causal=is_causal,
        kv_num_heads=kv_num_heads,
        q_num_heads=q_num_heads,
        qk_matmul_output_mode=qk_matmul_output_mode,
        scale=scale,
        softcap=softcap,
        softmax_precision=softmax_precision,
    )


@reference_op("Attention", since=24, dtypes=FLOAT)
def attention_24(
    q: A,
    k: A,
    v: A,
    attn_mask: Opt = None,
    past_key: Opt = None,
    past_value: Opt = None,
    nonpad_kv_seqlen: Opt = None,
    *,
    is_causal: int = 0,
    kv_num_heads: int | None = None,
    q_num_heads: int | None = None,
    qk_matmul_output_mode: int = 0,
    scale: float | None = None,
    softcap: float = 0.0,
    softmax_precision: int | None = None,
) -> Outputs:
    """attention-23, plus nonpad_kv_seqlen: per-batch valid keys of an external cache"""
    heads = q.ndim != 4  # 23/24 ignore head counts given with 4-D inputs; 25 rejects them
    return attention_25(
        q,
        k,
        v,
        attn_mask,
        past_key,
        past_value,
        nonpad_kv_seqlen,
        is_causal=is_causal,
        kv_num_heads=kv_num_heads if heads else None,
        q_num_heads=q_num_heads if heads else None,
        qk_matmul_output_mode=qk_matmul_output_mode,
        scale=scale,
        softcap=softcap,
        softmax_precision=softmax_precision,
        left_window_size=-1,
        right_window_size=-1,
    )


@reference_op("Attention", since=25, dtypes=FLOAT)
def attention_25(
    q: A,
    k: A,
    v: A,
    attn_mask: Opt = None,
    past_key: Opt = None,
    past_value: Opt = None,
    nonpad_kv_seqlen: Opt = None,
    *,
    is_causal: int = 0,
    kv_num_heads: int | None = None,
    q_num_heads: int | None = None,
    qk_matmul_output_mode: int = 0,
    scale: float | None = None,
    softcap: float = 0.0,
    softmax_precision: int | None = None,
    left_window_size: int = -1,
    right_window_size: int = -1,
) -> Outputs:
    """attention-24, plus a sliding window p - left <= j <= p + right around each query"""
    if q.ndim == 4 and (q_num_heads is not None or kv_num_heads is not None):
        raise OpArgumentError("Attention-25: q_num_heads/kv_num_heads are only for 3-D inputs")
    if left_window_size < -1 or right_window_size < -1:
        raise OpArgumentError(
            f"window sizes must be -1 or >= 0, got {left_window_size}, {right_window_size}"
        )
    attrs = AttentionAttrs(
        is_causal,
        q_num_heads,
        kv_num_heads,
        qk_matmul_output_mode,
        scale,
        softcap,
        softmax_precision,
        left_window_size,
        right_window_size,
    )
    return attend(q, k, v, attn_mask, past_key, past_value, nonpad_kv_seqlen, attrs)
