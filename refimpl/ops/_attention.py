"""Scaled dot-product attention shared by Attention-23/24/25: head layout, masks, softmax."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import FLOAT, ONNX_TYPE_CODES, from_onnx_code
from ..errors import OpArgumentError
from ._precision import widen

A = np.ndarray
Opt = np.ndarray | None
# the ONNX TensorProto codes softmax_precision may name: the float types (1, 10, 11, 16)
PRECISION_CODES = tuple(sorted(c for c, name in ONNX_TYPE_CODES.items() if name in FLOAT))


def precision_dtype(code: int) -> np.dtype:
    """The dtype named by a softmax_precision code, which must be one of PRECISION_CODES."""
    if code not in PRECISION_CODES:
        raise OpArgumentError(f"softmax_precision must be one of {list(PRECISION_CODES)}")
    return from_onnx_code(code)


@dataclass(frozen=True)
class AttentionAttrs:
    is_causal: int = 0
    q_num_heads: int | None = None
    kv_num_heads: int | None = None
    qk_matmul_output_mode: int = 0
    scale: float | None = None
    softcap: float = 0.0
    softmax_precision: int | None = None
    left_window_size: int = -1
    right_window_size: int = -1


def attend(
    q: A,
    k: A,
    v: A,
    attn_mask: Opt,
    past_key: Opt,
    past_value: Opt,
    nonpad: Opt,
    a: AttentionAttrs,
) -> tuple[A, A, A, A]:
    """(Y, present_key, present_value, qk_matmul_output) of softmax(q k^T * scale + bias) v."""
    if (past_key is None) != (past_value is None):
        raise OpArgumentError("Attention needs past_key and past_value together, or neither")
    if nonpad is not None and past_key is not None:
        raise OpArgumentError("Attention: nonpad_kv_seqlen cannot be used with past_key/value")
    if not q.ndim == k.ndim == v.ndim or q.ndim not in (3, 4):
        raise OpArgumentError(f"Attention needs Q, K, V all 3-D or all 4-D: {q.shape, k.shape}")
    rank3 = q.ndim == 3
    if rank3:
        q = _split_heads(q, a.q_num_heads, "q_num_heads")
        k = _split_heads(k, a.kv_num_heads, "kv_num_heads")
        v = _split_heads(v, a.kv_num_heads, "kv_num_heads")
    if past_key is not None:
        k = np.concatenate([past_key, k], axis=2)
        v = np.concatenate([past_value, v], axis=2)
    present_key, present_value = k, v
    batch, q_heads, sq, head = q.shape
    kv_heads, total = k.shape[1], k.shape[2]
    if q_heads % kv_heads:
        raise OpArgumentError(f"Attention: {q_heads} query heads are not a multiple of {kv_heads}")
    cd = widen(q).dtype
    root = cd.type(np.sqrt(a.scale if a.scale is not None else 1 / np.sqrt(head)))
    kk = np.repeat(widen(k), q_heads // kv_heads, axis=1)  # head h reads kv head h // group
    vv = np.repeat(widen(v), q_heads // kv_heads, axis=1)
    scores = (widen(q) * root) @ (kk * root).swapaxes(-1, -2)
    raw = scores
    if a.softcap > 0:
        scores = (a.softcap * np.tanh(scores / cd.type(a.softcap))).astype(cd)
    bias = _bias(attn_mask, nonpad, past_key, (sq, total), cd, a)
    biased = scores + bias
    pd = precision_dtype(a.softmax_precision) if a.softmax_precision is not None else q.dtype
    probs = _softmax(widen(biased.astype(pd)))
    # a query row with no attendable key yields zeros, decided on the bias (not the logits)
    empty_row = np.isneginf(np.max(bias, axis=-1, keepdims=True))
    probs = np.where(empty_row, probs.dtype.type(0), probs).astype(q.dtype)
    y = (widen(probs) @ vv).astype(q.dtype)
    if rank3:
        y = y.transpose(0, 2, 1, 3).reshape(batch, sq, -1)
    mode = a.qk_matmul_output_mode
    if mode not in (0, 1, 2, 3):
        raise OpArgumentError(f"qk_matmul_output_mode must be 0, 1, 2 or 3, got {mode}")
    qk = (raw, scores, np.broadcast_to(biased, scores.shape), probs)[mode].astype(q.dtype)
    return y, present_key, present_value, qk


def _split_heads(x: np.ndarray, heads: int | None, what: str) -> np.ndarray:
    """(B, S, H*D) -> (B, H, S, D)."""
    if not heads or x.shape[2] % heads:
        raise OpArgumentError(
            f"Attention with 3-D inputs needs {what} dividing the hidden size {x.shape[2]}, "
            f"got {heads}"
        )
    b, s, hidden = x.shape
    return x.reshape(b, s, heads, hidden // heads).transpose(0, 2, 1, 3)


def _bias(
    mask: Opt, nonpad: Opt, past_key: Opt, shape: tuple[int, int], cd: np.dtype, a: AttentionAttrs
) -> A:
    """Additive bias broadcastable to (B, Hq, Sq, T): 0 where allowed, -inf where not, + mask."""
    sq, total = shape
    if past_key is not None:
        offset = np.array([past_key.shape[2]])
    elif nonpad is not None:
        offset = np.asarray(nonpad).astype(np.int64).reshape(-1) - sq
    else:
        offset = np.array([0])
    pos = np.arange(sq)[:, None] + offset.reshape(-1, 1, 1, 1)  # absolute query positions
    j = np.arange(total)
    ok = np.ones((offset.size, 1, sq, total), dtype=bool)
    if a.is_causal:
        ok &= j <= pos
    if a.left_window_size >= 0:
        ok &= j >= pos - a.left_window_size
    if a.right_window_size >= 0:
        ok &= j <= pos + a.right_window_size
    if nonpad is not None:
        ok = ok & (j < np.asarray(nonpad).reshape(-1, 1, 1, 1))
    float_mask = np.zeros((), dtype=cd)
    if mask is not None:
        if mask.shape[-1] > total:
            raise OpArgumentError(f"attn_mask has {mask.shape[-1]} keys, more than {total}")
        pad = [(0, 0)] * (mask.ndim - 1) + [(0, total - mask.shape[-1])]
        if mask.dtype == np.bool_:
            ok = ok & np.pad(mask, pad, constant_values=False)
        else:
            float_mask = np.pad(widen(mask).astype(cd), pad, constant_values=-np.inf)
    return np.where(ok, cd.type(0), cd.type(-np.inf)) + float_mask


def _softmax(x: np.ndarray) -> np.ndarray:
    """softmax over the last axis; an all -inf row gives zeros instead of NaN."""
    top = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - np.where(np.isneginf(top), 0, top).astype(x.dtype))
    total = np.sum(e, axis=-1, keepdims=True)
    return e / np.where(total == 0, 1, total).astype(x.dtype)
