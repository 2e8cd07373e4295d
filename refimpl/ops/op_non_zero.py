import numpy as np

from ..dtypes import ALL
from ..registry import reference_op


@reference_op("NonZero", since=9, dtypes=ALL)
def non_zero_9(x: np.ndarray) -> np.ndarray:
    """y[:, j] = the index of the j-th non-zero element (row-major order), int64 (rank, nnz)"""
    # a 0-d input is treated as 1-d, as onnxruntime does
    return np.array(np.nonzero(np.atleast_1d(x)), dtype=np.int64).reshape(max(x.ndim, 1), -1)
