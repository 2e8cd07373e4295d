import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import widen


@reference_op("RotaryEmbedding", since=23, dtypes=FLOAT)
def rotary_embedding_23(
    x: np.ndarray,
    cos_cache: np.ndarray,
    sin_cache: np.ndarray,
    position_ids: np.ndarray | None = None,
    *,
    interleaved: int = 0,
    num_heads: int = 0,
    rotary_embedding_dim: int = 0,
) -> np.ndarray:
    """(x1, x2) -> (x1 cos - x2 sin, x1 sin + x2 cos) on the first rotary_dim features"""
    if x.ndim == 4:
        heads = x.transpose(0, 2, 1, 3)  # (B, S, H, D)
    elif x.ndim == 3:
        if num_heads <= 0 or x.shape[2] % num_heads:
            raise OpArgumentError(
                f"RotaryEmbedding of a 3-D input needs num_heads, got {num_heads}"
            )
        heads = x.reshape(x.shape[0], x.shape[1], num_heads, -1)
    else:
        raise OpArgumentError(f"RotaryEmbedding needs a 3-D or 4-D input, got {x.shape}")
    dim = rotary_embedding_dim or heads.shape[3]
    if position_ids is not None:
        cos_cache, sin_cache = cos_cache[position_ids], sin_cache[position_ids]
    if cos_cache.shape[-1] != dim // 2 or sin_cache.shape[-1] != dim // 2:
        raise OpArgumentError(
            f"cos/sin caches must end in rotary_dim/2 = {dim // 2}, got {cos_cache.shape[-1]}"
        )
    cos, sin = (widen(c)[:, :, None, :] for c in (cos_cache, sin_cache))  # (B, S, 1, dim/2)
    out = widen(heads).copy()
    part = out[..., :dim]
    x1, x2 = (part[..., 0::2], part[..., 1::2]) if interleaved else np.split(part, 2, axis=-1)
    rotated = (x1 * cos - x2 * sin, x1 * sin + x2 * cos)
    if interleaved:
        out[..., 0:dim:2], out[..., 1:dim:2] = rotated
    else:
        out[..., :dim] = np.concatenate(rotated, axis=-1)
    out = out.transpose(0, 2, 1, 3) if x.ndim == 4 else out.reshape(x.shape)
    return out.astype(x.dtype, copy=False)
