import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import wrap_indices


def _gather_nd(data: np.ndarray, indices: np.ndarray, b: int) -> np.ndarray:
    k = indices.shape[-1] if indices.ndim else 0
    if indices.ndim < 1 or not 0 <= b < min(data.ndim, indices.ndim) or b + k > data.ndim:
        raise OpArgumentError(
            f"GatherND: indices {list(indices.shape)} / batch_dims {b} do not fit data "
            f"{list(data.shape)}"
        )
    if data.shape[:b] != indices.shape[:b]:
        raise OpArgumentError("GatherND: the batch dimensions of data and indices differ")
    batch = int(np.prod(data.shape[:b], dtype=np.int64))
    flat_data = data.reshape((batch, *data.shape[b:]))
    flat_idx = indices.reshape(batch, -1, k)
    coords = [wrap_indices(flat_idx[..., j], data.shape[b + j]) for j in range(k)]
    picked = flat_data[(np.arange(batch)[:, None], *coords)]  # (batch, n, *rest)
    return picked.reshape(indices.shape[:-1] + data.shape[b + k :])


@reference_op("GatherND", since=11, dtypes=ALL)
def gather_nd_11(data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """y[i..] = data[indices[i.., :]] (a slice when indices address fewer than rank dims)"""
    return _gather_nd(data, indices, 0)


@reference_op("GatherND", since=12, dtypes=ALL)
def gather_nd_12(data: np.ndarray, indices: np.ndarray, *, batch_dims: int = 0) -> np.ndarray:
    """y[b.., i..] = data[b.., indices[b.., i.., :]] for the first batch_dims shared dims"""
    return _gather_nd(data, indices, batch_dims)
