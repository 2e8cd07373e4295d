import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis, wrap_indices
from ._scatter import scatter_into


def scatter_elements(data, indices, updates, axis: int, reduction: str, allowed) -> np.ndarray:
    """out[i.. with i_axis = indices[i..]] (op)= updates[i..]; shared with Scatter."""
    axis = norm_axis(axis, data.ndim)
    if indices.shape != updates.shape or indices.ndim != data.ndim:
        raise OpArgumentError(
            f"indices {list(indices.shape)} and updates {list(updates.shape)} must have the same "
            f"shape and the rank of data {list(data.shape)}"
        )
    index = list(np.indices(indices.shape, sparse=True))
    index[axis] = wrap_indices(indices, data.shape[axis])
    return scatter_into(data, tuple(index), updates, reduction, allowed)


@reference_op("ScatterElements", since=11, dtypes=ALL)
def scatter_elements_11(
    data: np.ndarray, indices: np.ndarray, updates: np.ndarray, *, axis: int = 0
) -> np.ndarray:
    """out = data; out[i.. with i_axis = indices[i..]] = updates[i..]"""
    return scatter_elements(data, indices, updates, axis, "none", {"none"})


@reference_op("ScatterElements", since=16, dtypes=ALL)
def scatter_elements_16(
    data: np.ndarray,
    indices: np.ndarray,
    updates: np.ndarray,
    *,
    axis: int = 0,
    reduction: str = "none",
) -> np.ndarray:
    """out = data; out[i.. with i_axis = indices[i..]] (=, +=, *=) updates[i..]"""
    return scatter_elements(data, indices, updates, axis, reduction, {"none", "add", "mul"})


@reference_op("ScatterElements", since=18, dtypes=ALL)
def scatter_elements_18(
    data: np.ndarray,
    indices: np.ndarray,
    updates: np.ndarray,
    *,
    axis: int = 0,
    reduction: str = "none",
) -> np.ndarray:
    """out = data; out[i.. with i_axis = indices[i..]] (=, +, *, max, min) updates[i..]"""
    allowed = {"none", "add", "mul", "max", "min"}
    return scatter_elements(data, indices, updates, axis, reduction, allowed)
