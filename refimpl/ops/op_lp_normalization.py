import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._precision import normalize_axis, widen


@reference_op("LpNormalization", since=1, dtypes=FLOAT)
def lp_normalization_1(x: np.ndarray, *, axis: int = -1, p: int = 2) -> np.ndarray:
    """y = x / ||x||_p along axis (p in {1, 2}; a zero-norm slice stays zero)"""
    if p not in (1, 2):
        raise OpArgumentError(f"LpNormalization supports p=1 or p=2, got p={p}")
    ax = normalize_axis(axis, x.ndim)
    xw = widen(x)
    if p == 1:
        norm = np.sum(np.abs(xw), axis=ax, keepdims=True)
    else:
        norm = np.sqrt(np.sum(xw * xw, axis=ax, keepdims=True))
    y = np.divide(xw, norm, out=np.zeros_like(xw), where=norm != 0)
    return y.astype(x.dtype, copy=False)
