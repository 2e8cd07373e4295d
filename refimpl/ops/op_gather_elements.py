import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._sh_axes import norm_axis, wrap_indices


@reference_op("GatherElements", since=11, dtypes=ALL)
def gather_elements_11(data: np.ndarray, indices: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """y[i..] = data[i.. with i_axis replaced by indices[i..]]"""
    axis = norm_axis(axis, data.ndim)
    if indices.ndim != data.ndim:
        raise OpArgumentError(f"indices rank {indices.ndim} differs from data rank {data.ndim}")
    return np.take_along_axis(data, wrap_indices(indices, data.shape[axis]), axis=axis)
