import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis


@reference_op("Compress", since=9, dtypes=ALL)
def compress_9(input: np.ndarray, condition: np.ndarray, *, axis: int | None = None):
    """y = the slices of input along axis (flattened input if no axis) where condition is true"""
    cond = np.asarray(condition).reshape(-1).astype(bool)
    data = input.reshape(-1) if axis is None else input
    ax = 0 if axis is None else norm_axis(axis, input.ndim)
    if cond.size > data.shape[ax]:
        raise OpArgumentError(
            f"Compress condition has {cond.size} entries, the axis only {data.shape[ax]}"
        )
    return np.compress(cond, data, axis=ax)
