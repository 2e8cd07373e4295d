import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis, wrap_indices


@reference_op("GatherElements", since=11, dtypes=ALL)
def gather_elements_11(data: np.ndarray, indices: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """y[i..] = data[i.. with i_axis replaced by indices[i..]]; y has the shape of indices"""
    axis = norm_axis(axis, data.ndim)
    if indices.ndim != data.ndim:
        raise OpArgumentError(f"indices rank {indices.ndim} differs from data rank {data.ndim}")
    for d, (n, size) in enumerate(zip(indices.shape, data.shape)):
        if d != axis and n > size:
            raise OpArgumentError(f"indices dimension {d} ({n}) is larger than the data's ({size})")
    # Indices may be smaller than the data on the non-axis dims: only that leading window is read.
    window = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(indices.shape))
    return np.take_along_axis(data[window], wrap_indices(indices, data.shape[axis]), axis=axis)
