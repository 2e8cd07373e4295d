import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._axes import norm_axis, wrap_indices


@reference_op("Gather", since=1, dtypes=ALL)
def gather_1(data: np.ndarray, indices: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """y[i.., j.., k..] = data[i.., indices[j..], k..] (negative indices count from the end)"""
    axis = norm_axis(axis, data.ndim)
    return np.take(data, wrap_indices(indices, data.shape[axis]), axis=axis)
