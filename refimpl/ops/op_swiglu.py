import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import widen


@reference_op("SwiGLU", since=28, dtypes=FLOAT)
def swiglu_28(a: np.ndarray, b: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """y = a * sigmoid(alpha * a) * b (no broadcasting)"""
    if a.shape != b.shape:
        raise OpArgumentError(f"SwiGLU needs A and B of one shape, got {a.shape} and {b.shape}")
    a32, b32 = widen(a), widen(b)
    gate = a32 / (1 + np.exp(-alpha * a32))
    return (gate * b32).astype(a.dtype, copy=False)
