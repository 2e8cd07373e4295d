import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axes, opt_int_list


def _squeeze(data: np.ndarray, axes: list[int] | None) -> np.ndarray:
    if axes is None:
        return data.reshape([d for d in data.shape if d != 1])
    axes = norm_axes(axes, data.ndim)
    not_one = [a for a in axes if data.shape[a] != 1]
    if not_one:
        raise OpArgumentError(f"cannot squeeze axes {not_one} of shape {list(data.shape)}: not 1")
    return data.reshape([d for i, d in enumerate(data.shape) if i not in axes])


@reference_op("Squeeze", since=1, dtypes=ALL)
def squeeze_1(data: np.ndarray, *, axes: list[int] | None = None) -> np.ndarray:
    """y = data without the size-1 dims in axes (all size-1 dims by default)"""
    return _squeeze(data, axes)


@reference_op("Squeeze", since=13, dtypes=ALL)
def squeeze_13(data: np.ndarray, axes: np.ndarray | None = None) -> np.ndarray:
    """y = data without the size-1 dims in axes (all size-1 dims by default)"""
    return _squeeze(data, opt_int_list(axes))
