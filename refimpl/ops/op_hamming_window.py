import numpy as np

from ..registry import reference_op
from ._cosine_window import cosine_window


@reference_op("HammingWindow", since=17, dtypes={"int32", "int64"})
def hamming_window_17(
    size: np.ndarray, *, periodic: int = 1, output_datatype: int = 1
) -> np.ndarray:
    """w[n] = 25/46 - 21/46 cos(2πn/N), N = size (or size - 1 if not periodic)"""
    return cosine_window(size, (25 / 46, 21 / 46), periodic, output_datatype)
