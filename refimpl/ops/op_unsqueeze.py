import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._axes import int_list, norm_axes


def _unsqueeze(data: np.ndarray, axes: list[int]) -> np.ndarray:
    rank = data.ndim + len(axes)
    new = set(norm_axes(axes, rank))
    dims = iter(data.shape)
    return data.reshape([1 if i in new else next(dims) for i in range(rank)])


@reference_op("Unsqueeze", since=1, dtypes=ALL)
def unsqueeze_1(data: np.ndarray, *, axes: list[int]) -> np.ndarray:
    """y = data with size-1 dims inserted at axes (positions in the output)"""
    return _unsqueeze(data, axes)


@reference_op("Unsqueeze", since=13, dtypes=ALL)
def unsqueeze_13(data: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """y = data with size-1 dims inserted at axes (positions in the output)"""
    return _unsqueeze(data, int_list(axes))
