import numpy as np

from ..registry import reference_op
from ._cosine_window import cosine_window


@reference_op("HannWindow", since=17, dtypes={"int32", "int64"})
def hann_window_17(size: np.ndarray, *, periodic: int = 1, output_datatype: int = 1) -> np.ndarray:
    """w[n] = 0.5 - 0.5 cos(2πn/N), N = size (or size - 1 if not periodic)"""
    return cosine_window(size, (0.5, 0.5), periodic, output_datatype)
