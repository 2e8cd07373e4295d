import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import wrap_indices
from ._scatter import scatter_into


def _scatter_nd(data, indices, updates, reduction: str, allowed) -> np.ndarray:
    k = indices.shape[-1] if indices.ndim else 0
    expected = indices.shape[:-1] + data.shape[k:]
    if indices.ndim < 1 or k > data.ndim or updates.shape != expected:
        raise OpArgumentError(
            f"ScatterND: updates {list(updates.shape)} must have shape {list(expected)} for "
            f"indices {list(indices.shape)} and data {list(data.shape)}"
        )
    index = tuple(wrap_indices(indices[..., j], data.shape[j]) for j in range(k))
    return scatter_into(data, index, updates, reduction, allowed)


@reference_op("ScatterND", since=11, dtypes=ALL)
def scatter_nd_11(data: np.ndarray, indices: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """out = data; out[indices[i.., :]] = updates[i..]"""
    return _scatter_nd(data, indices, updates, "none", {"none"})


@reference_op("ScatterND", since=16, dtypes=ALL)
def scatter_nd_16(
    data: np.ndarray, indices: np.ndarray, updates: np.ndarray, *, reduction: str = "none"
) -> np.ndarray:
    """out = data; out[indices[i.., :]] (=, +=, *=) updates[i..]"""
    return _scatter_nd(data, indices, updates, reduction, {"none", "add", "mul"})


@reference_op("ScatterND", since=18, dtypes=ALL)
def scatter_nd_18(
    data: np.ndarray, indices: np.ndarray, updates: np.ndarray, *, reduction: str = "none"
) -> np.ndarray:
    """out = data; out[indices[i.., :]] (=, +, *, max, min) updates[i..]"""
    return _scatter_nd(data, indices, updates, reduction, {"none", "add", "mul", "max", "min"})
