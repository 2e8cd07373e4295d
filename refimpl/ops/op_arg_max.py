import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._reduce import arg_reduce


@reference_op("ArgMax", since=1, dtypes=NUMERIC | {"bool"})
def arg_max_1(data: np.ndarray, *, axis: int = 0, keepdims: int = 1) -> np.ndarray:
    """y = index of the largest x along axis (first index on ties), int64"""
    return arg_reduce(data, axis, keepdims, 0, np.argmax)


@reference_op("ArgMax", since=12, dtypes=NUMERIC | {"bool"})
def arg_max_12(
    data: np.ndarray, *, axis: int = 0, keepdims: int = 1, select_last_index: int = 0
) -> np.ndarray:
    """y = index of the largest x along axis (first or last index on ties), int64"""
    return arg_reduce(data, axis, keepdims, select_last_index, np.argmax)
