import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis


def _one_hot(indices, depth, values, axis: int, allow_negative: bool) -> np.ndarray:
    size = int(np.asarray(depth).reshape(-1)[0])
    if size < 1:
        raise OpArgumentError(f"OneHot depth must be positive, got {size}")
    values = np.asarray(values).reshape(-1)
    if values.size != 2:
        raise OpArgumentError(f"OneHot values must be [off_value, on_value], got {values.size}")
    idx = np.asarray(indices).astype(np.int64)
    if allow_negative:
        idx = np.where(idx < 0, idx + size, idx)
    axis = norm_axis(axis, idx.ndim + 1)
    classes = np.arange(size).reshape((size,) + (1,) * (idx.ndim - axis))
    hot = np.expand_dims(idx, axis) == classes  # out-of-range indices match no class
    return np.where(hot, values[1], values[0]).astype(values.dtype)


@reference_op("OneHot", since=9, dtypes=NUMERIC)
def one_hot_9(
    indices: np.ndarray, depth: np.ndarray, values: np.ndarray, *, axis: int = -1
) -> np.ndarray:
    """y[.., j at axis, ..] = on_value if indices[..] == j else off_value, j in [0, depth)"""
    return _one_hot(indices, depth, values, axis, allow_negative=False)


@reference_op("OneHot", since=11, dtypes=NUMERIC)
def one_hot_11(
    indices: np.ndarray, depth: np.ndarray, values: np.ndarray, *, axis: int = -1
) -> np.ndarray:
    """y[.., j at axis, ..] = on if indices[..] (+ depth if < 0) == j else off"""
    return _one_hot(indices, depth, values, axis, allow_negative=True)
