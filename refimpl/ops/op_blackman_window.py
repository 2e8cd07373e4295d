import numpy as np

from ..registry import reference_op
from ._cosine_window import cosine_window


@reference_op("BlackmanWindow", since=17, dtypes={"int32", "int64"})
def blackman_window_17(
    size: np.ndarray, *, periodic: int = 1, output_datatype: int = 1
) -> np.ndarray:
    """w[n] = 0.42 - 0.5 cos(2πn/N) + 0.08 cos(4πn/N), N = size (or size - 1 if not periodic)"""
    return cosine_window(size, (0.42, 0.5, 0.08), periodic, output_datatype)
