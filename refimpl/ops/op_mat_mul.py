import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import widen


@reference_op("MatMul", since=1, dtypes=NUMERIC)
def mat_mul_1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y = a @ b (numpy.matmul: 1-D operands are promoted then squeezed; batch dims broadcast)"""
    if a.ndim == 0 or b.ndim == 0:
        raise OpArgumentError(f"MatMul needs operands of rank >= 1, got {a.shape} @ {b.shape}")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise OpArgumentError(f"MatMul inner dimensions differ: {a.shape} @ {b.shape}")
    # integers wrap like a C kernel; bfloat16 is multiplied in float32 and rounded back
    return np.matmul(widen(a), widen(b)).astype(a.dtype, copy=False)
