import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import norm_axis, scalar_int


def _top_k(x: np.ndarray, k: int, axis: int, largest: int) -> tuple[np.ndarray, np.ndarray]:
    axis = norm_axis(axis, x.ndim)
    n = x.shape[axis]
    if not 0 <= k <= n:
        raise OpArgumentError(f"TopK k={k} is outside [0, {n}] for axis {axis}")
    work = x.astype(np.float32) if x.dtype.name == "bfloat16" else x
    if largest:
        # stable sort of the reversed axis, reversed back: descending, ties by lower index
        order = np.argsort(np.flip(work, axis), axis=axis, kind="stable")
        order = n - 1 - np.flip(order, axis)
    else:
        order = np.argsort(work, axis=axis, kind="stable")
    indices = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    return np.take_along_axis(x, indices, axis=axis), indices


@reference_op("TopK", since=1, dtypes=NUMERIC)
def top_k_1(x: np.ndarray, *, k: int, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(values, indices) of the k largest elements along axis, ties by lower index"""
    return _top_k(x, k, axis, 1)


@reference_op("TopK", since=10, dtypes=NUMERIC)
def top_k_10(x: np.ndarray, k: np.ndarray, *, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(values, indices) of the k largest elements along axis, ties by lower index"""
    return _top_k(x, scalar_int(k, "TopK K"), axis, 1)


@reference_op("TopK", since=11, dtypes=NUMERIC)
def top_k_11(
    x: np.ndarray, k: np.ndarray, *, axis: int = -1, largest: int = 1, sorted: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(values, indices) of the k largest (or smallest) elements along axis, ties by index"""
    # sorted=0 leaves the order unspecified; the sorted order is one valid choice
    return _top_k(x, scalar_int(k, "TopK K"), axis, largest)
