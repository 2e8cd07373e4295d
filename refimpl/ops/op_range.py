import math

import numpy as np

from ..dtypes import FLOAT, SIGNED_INT
from ..errors import OpArgumentError
from ..registry import reference_op


def _range(start: np.ndarray, limit: np.ndarray, delta: np.ndarray, work: np.dtype) -> np.ndarray:
    out_dtype = np.asarray(start).dtype
    s, lim, d = (np.asarray(v, dtype=work).reshape(()) for v in (start, limit, delta))
    if d == 0:
        raise OpArgumentError("Range delta must not be 0")
    count = max(math.ceil((float(lim) - float(s)) / float(d)), 0)
    values = s + np.arange(count).astype(work) * d
    return values.astype(out_dtype)


@reference_op("Range", since=11, dtypes=FLOAT | SIGNED_INT)
def range_11(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """y[i] = start + i * delta for i < max(ceil((limit - start) / delta), 0)"""
    return _range(start, limit, delta, np.asarray(start).dtype)


@reference_op("Range", since=27, dtypes=FLOAT | SIGNED_INT)
def range_27(
    start: np.ndarray, limit: np.ndarray, delta: np.ndarray, *, stash_type: int = 1
) -> np.ndarray:
    """y[i] = start + i * delta; float16/bfloat16 computed in float32 when stash_type = 1"""
    dtype = np.asarray(start).dtype
    low_precision = dtype.name in ("float16", "bfloat16")
    work = np.dtype(np.float32) if stash_type == 1 and low_precision else dtype
    return _range(start, limit, delta, work)
