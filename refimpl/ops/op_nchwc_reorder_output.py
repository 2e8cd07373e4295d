import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._nchwc import unblock


@reference_op("NchwcReorderOutput", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_reorder_output_1(x: np.ndarray) -> np.ndarray:
    """y[n, cb * b + j, *s] = x[n, cb, *s, j] with b = x.shape[-1]"""
    return unblock(x, "NchwcReorderOutput")
