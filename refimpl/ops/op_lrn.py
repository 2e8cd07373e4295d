import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("LRN", since=1, dtypes=FLOAT)
def lrn_1(
    x: np.ndarray, *, size: int, alpha: float = 0.0001, beta: float = 0.75, bias: float = 1.0
) -> np.ndarray:
    """y = x / (bias + alpha/size * sum x[:, c']^2)^beta, c' in [c-(size-1)//2, c+size//2]"""
    if size < 1:
        raise OpArgumentError(f"LRN size must be >= 1, got {size}")
    if x.ndim < 3:
        raise OpArgumentError(f"LRN needs an input of shape (N, C, D1, ...), got {x.shape}")
    xw: np.ndarray = x.astype(np.float64 if x.dtype == np.float64 else np.float32)
    pad = [(0, 0)] * x.ndim
    pad[1] = ((size - 1) // 2, size // 2)
    padded = np.pad(np.square(xw), pad)
    channels = x.shape[1]
    square_sum = np.zeros_like(xw)
    for k in range(size):  # a loop over the window, not over the tensor
        square_sum += padded[:, k : k + channels]
    y = xw / (bias + (alpha / size) * square_sum) ** beta
    return y.astype(x.dtype, copy=False)
