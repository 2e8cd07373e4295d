import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis


@reference_op("TensorScatter", since=24, dtypes=ALL)
def tensor_scatter_24(
    past_cache: np.ndarray,
    update: np.ndarray,
    write_indices: np.ndarray | None = None,
    *,
    axis: int = -2,
    mode: str = "linear",
) -> np.ndarray:
    """present = past; present[b, .., w[b] + s, ..] = update[b, .., s, ..] (mod len if circular)"""
    axis = norm_axis(axis, past_cache.ndim)
    if axis == 0:
        raise OpArgumentError("TensorScatter axis must not be the batch axis 0")
    if mode not in ("linear", "circular"):
        raise OpArgumentError(f"TensorScatter mode must be 'linear' or 'circular', got {mode!r}")
    shape_ok = update.ndim == past_cache.ndim and all(
        u == p for i, (u, p) in enumerate(zip(update.shape, past_cache.shape)) if i != axis
    )
    if not shape_ok:
        raise OpArgumentError(
            f"update {list(update.shape)} must match past_cache {list(past_cache.shape)} "
            f"except on axis {axis}"
        )
    batch, seq, max_len = past_cache.shape[0], update.shape[axis], past_cache.shape[axis]
    start = np.zeros(batch, np.int64) if write_indices is None else write_indices.astype(np.int64)
    pos = start.reshape((batch,) + (1,) * (update.ndim - 1)) + np.arange(seq).reshape(
        (seq,) + (1,) * (update.ndim - 1 - axis)
    )
    if mode == "circular":
        pos = pos % max_len
    elif pos.size and (pos.min() < 0 or pos.max() >= max_len):
        raise OpArgumentError(f"TensorScatter writes past max_sequence_length {max_len}")
    out = past_cache.copy()
    np.put_along_axis(out, np.broadcast_to(pos, update.shape), update, axis=axis)
    return out
