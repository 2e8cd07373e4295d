import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from .op_add import add_7
from .op_mat_mul import mat_mul_1
from .op_mul import mul_7
from .op_softmax import softmax_13


@reference_op("PackedAttention", since=1, domain="gossamer", dtypes=FLOAT)
def packed_attention_1(
    qkv: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    num_heads: int,
    scale: float = 1.0,
) -> np.ndarray:
    """Multi-head attention over packed q|k|v: qkv [B, S, 3E] holds q, k and v as three blocks of
    E = num_heads * D along its last axis (head h at columns h D .. h D + D of each block);
    per head, y = softmax(q k^T * scale + mask) v (the MatMul, Mul, Add, Softmax, MatMul of the
    unfused graph, in that order; no Mul when scale is 1), mask broadcast to [B, num_heads, S, S];
    the heads' results side by side: y [B, S, E]"""
    if qkv.ndim != 3 or num_heads < 1 or qkv.shape[2] % (3 * num_heads):
        raise OpArgumentError(
            f"PackedAttention needs qkv [B, S, 3 * num_heads * D], got {qkv.shape} "
            f"with num_heads {num_heads}"
        )
    b, s, e3 = qkv.shape
    e = e3 // 3
    d = e // num_heads
    heads = qkv.reshape(b, s, 3, num_heads, d)
    q = heads[:, :, 0].transpose(0, 2, 1, 3)  # [B, N, S, D]
    k_t = heads[:, :, 1].transpose(0, 2, 3, 1)  # [B, N, D, S]
    v = heads[:, :, 2].transpose(0, 2, 1, 3)
    scores = mat_mul_1(q, k_t)
    if scale != 1.0:
        scores = mul_7(scores, np.asarray(scale, dtype=qkv.dtype))
    if mask is not None:
        scores = add_7(scores, mask)
    if scores.shape != (b, num_heads, s, s):
        raise OpArgumentError(f"PackedAttention: mask {mask.shape} does not broadcast to the "
                              f"scores {(b, num_heads, s, s)}")  # fmt: skip
    y = mat_mul_1(softmax_13(scores, axis=-1), v)
    return np.ascontiguousarray(y.transpose(0, 2, 1, 3)).reshape(b, s, e)
