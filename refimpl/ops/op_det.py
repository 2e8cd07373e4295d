import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("Det", since=11, dtypes=FLOAT)
def det_11(x: np.ndarray) -> np.ndarray:
    """y[...] = det(x[..., :, :]) (LU in float64, rounded back to x's dtype)"""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise OpArgumentError(f"Det needs square matrices in the last two axes, got {x.shape}")
    return np.linalg.det(x.astype(np.float64)).astype(x.dtype)
