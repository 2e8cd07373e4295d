import numpy as np

from ..dtypes import ALL
from ..registry import reference_op


@reference_op("Size", since=1, dtypes=ALL)
def size_1(data: np.ndarray) -> np.ndarray:
    """y = number of elements of data, as a 0-d int64"""
    return np.array(data.size, dtype=np.int64)
