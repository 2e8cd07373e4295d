"""Scaled dot-product attention shared by Attention-23/24/25 (and the masks they compose)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import name_of
from ..errors import OpArgumentError
from ._mm_compute import widen

# ONNX TensorProto element types allowed for softmax_precision
_PRECISIONS = {1: np.float32, 10: np.float16, 11: np.float64, 16: "bfloat16"}


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


def split_heads(x: np.ndarray, heads: int | None, what: str) -> np.ndarray:
    """(B, S, H*D) -> (B, H, S, D)."""
    if not heads or x.shape[2] % heads:
        raise OpArgumentError(
            f"Attention with 3-D inputs needs {what} dividing the hidden size {x.shape[2]}, "
            f"got {heads}"
        )
    b, s, hidden = x.shape
    return x.reshape(b, s, heads, hidden // heads).transpose(0, 2, 1, 3)


def allowed_keys(
    shape: tuple[int, int], offset: np.ndarray, attrs: AttentionAttrs
) -> np.ndarray | None:
    """Boolean (B|1, 1, Sq, T) of keys j a query i may see: causal j <= i + offset, and windows."""
    if not attrs.is_causal and attrs.left_window_size < 0 and attrs.right_window_size < 0:
        return None
    sq, total = shape
    pos = np.arange(sq)[:, None] + offset.reshape(-1, 1, 1, 1)  # absolute query position
    j = np.arange(total)
    ok = np.ones(pos.shape[:3] + (total,), dtype=bool)
    if attrs.is_causal:
        ok &= j <= pos
    if attrs.left_window_size >= 0:
        ok &= j >= pos - attrs.left_window_size
    if attrs.right_window_size >= 0:
        ok &= j <= pos + attrs.right_window_size
    return ok


def attention_bias(
    mask: np.ndarray | None,
    nonpad: np.ndarray | None,
    offset: np.ndarray,
    shape: tuple[int, int],
    dtype: np.dtype,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(float mask padded to T with -inf, key-padding allowed set) from attn_mask/nonpad_kv_seqlen."""
    total = shape[1]
    float_mask = keep = None
    if mask is not None:
        if mask.shape[-1] > total:
            raise OpArgumentError(f"attn_mask has {mask.shape[-1]} keys, more than {total}")
        pad = [(0, 0)] * (mask.ndim - 1) + [(0, total - mask.shape[-1])]
        if mask.dtype == np.bool_:
            keep = np.pad(mask, pad, constant_values=False)
        else:
            float_mask = np.pad(widen(mask).astype(dtype), pad, constant_values=-np.inf)
    if nonpad is not None:
        valid = np.arange(total) < np.asarray(nonpad).reshape(-1, 1, 1, 1)
        keep = valid if keep is None else keep & valid
    return float_mask, keep


def softmax_rows(x: np.ndarray) -> np.ndarray:
    """softmax over the last axis; an all -inf row gives zeros instead of NaN."""
    top = np.max(x, axis=-1, keepdims=True)
    top = np.where(np.isneginf(top), 0, top).astype(x.dtype)
    e = np.exp(x - top)
    total = np.sum(e, axis=-1, keepdims=True)
    return e / np.where(total == 0, 1, total).astype(x.dtype)


def precision_dtype(code: int | None, default: np.dtype) -> np.dtype:
    if code is None:
        return default
    if code not in _PRECISIONS:
        raise OpArgumentError(f"softmax_precision must be one of {sorted(_PRECISIONS)}, got {code}")
    return widen(np.zeros(0, dtype=_numpy_dtype(_PRECISIONS[code]))).dtype


def _numpy_dtype(x) -> np.dtype:
    from ..dtypes import to_numpy

    return to_numpy(x) if isinstance(x, str) else np.dtype(x)


__all__ = ["AttentionAttrs", "allowed_keys", "attention_bias", "softmax_rows", "name_of"]
