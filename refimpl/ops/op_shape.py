import numpy as np

from ..dtypes import ALL
from ..registry import reference_op


@reference_op("Shape", since=1, dtypes=ALL)
def shape_1(data: np.ndarray) -> np.ndarray:
    """y = the dims of data as int64"""
    return np.array(data.shape, dtype=np.int64)


@reference_op("Shape", since=15, dtypes=ALL)
def shape_15(data: np.ndarray, *, start: int = 0, end: int | None = None) -> np.ndarray:
    """y = shape(data)[start:end] as int64 (negative and out-of-range bounds clamp)"""
    return np.array(data.shape[start:end], dtype=np.int64)
