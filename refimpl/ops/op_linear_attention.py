import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op

A = np.ndarray
Opt = np.ndarray | None
_RULES = ("linear", "gated", "delta", "gated_delta")


def _heads(x: np.ndarray, heads: int, what: str) -> np.ndarray:
    """(B, T, H*D) -> (B, H, T, D) in float32."""
    if x.ndim != 3 or x.shape[2] % heads:
        raise OpArgumentError(f"LinearAttention {what} must be (B, T, {heads}*D), got {x.shape}")
    b, t, hd = x.shape
    return x.reshape(b, t, heads, hd // heads).transpose(0, 2, 1, 3).astype(np.float32)


@reference_op("LinearAttention", since=27, dtypes=FLOAT)
def linear_attention_27(
    query: A,
    key: A,
    value: A,
    past_state: Opt = None,
    decay: Opt = None,
    beta: Opt = None,
    *,
    q_num_heads: int,
    kv_num_heads: int,
    update_rule: str = "gated_delta",
    scale: float = 0.0,
    chunk_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """S_t = e^g S + beta k (x) (v - e^g S^T k) (per rule); o_t = scale q_t^T S_t, token by token"""
    if update_rule not in _RULES:
        raise OpArgumentError(f"update_rule must be one of {_RULES}, got {update_rule!r}")
    if q_num_heads <= 0 or kv_num_heads <= 0 or q_num_heads % kv_num_heads:
        raise OpArgumentError(f"q_num_heads {q_num_heads} is not a multiple of {kv_num_heads}")
    gated, delta = "gated" in update_rule, "delta" in update_rule
    if gated != (decay is not None) or delta != (beta is not None):
        raise OpArgumentError(
            f"update_rule {update_rule!r} needs decay: {gated}, beta: {delta}; got decay "
            f"{decay is not None}, beta {beta is not None}"
        )
    q = _heads(query, q_num_heads, "query")
    k = _heads(key, kv_num_heads, "key")
    v = _heads(value, kv_num_heads, "value")
    b, _, t, d_k = k.shape
    d_v = v.shape[3]
    if decay is not None:  # (B, T, H) per head or (B, T, H*d_k) per key feature
        if decay.shape[-1] not in (kv_num_heads, kv_num_heads * d_k):
            raise OpArgumentError(f"decay must end in {kv_num_heads} or {kv_num_heads * d_k}")
        decay4 = _heads(decay, kv_num_heads, "decay")  # (B, H, T, 1 or d_k)
    if beta is not None:  # (B, T, H) or (B, T, 1)
        if beta.ndim != 3 or beta.shape[-1] not in (kv_num_heads, 1):
            raise OpArgumentError(f"beta must be (B, T, {kv_num_heads} or 1), got {beta.shape}")
        beta4 = beta.reshape(b, t, -1, 1).transpose(0, 2, 1, 3).astype(np.float32)
    state = (
        np.zeros((b, kv_num_heads, d_k, d_v), np.float32)
        if past_state is None
        else past_state.astype(np.float32)
    )
    group = q_num_heads // kv_num_heads
    factor = np.float32(scale if scale else 1 / np.sqrt(q.shape[3]))
    out = np.empty((b, q_num_heads, t, d_v), np.float32)
    for i in range(t):  # the recurrence is sequential in time
        k_i, v_i = k[:, :, i], v[:, :, i]
        if gated:
            state = state * np.exp(decay4[:, :, i])[..., None]
        if delta:
            v_i = beta4[:, :, i] * (v_i - np.einsum("bhdm,bhd->bhm", state, k_i))
        state = state + k_i[..., :, None] * v_i[..., None, :]
        read = np.repeat(state, group, axis=1) if group > 1 else state
        out[:, :, i] = factor * np.einsum("bhd,bhdm->bhm", q[:, :, i], read)
    output = out.transpose(0, 2, 1, 3).reshape(b, t, q_num_heads * d_v).astype(query.dtype)
    return output, state.astype(query.dtype if past_state is None else past_state.dtype)
