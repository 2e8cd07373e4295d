import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import scalar_int


@reference_op("Trilu", since=14, dtypes=ALL)
def trilu_14(input: np.ndarray, k: np.ndarray | None = None, *, upper: int = 1) -> np.ndarray:
    """y[.., i, j] = input[.., i, j] if j - i >= k (upper) / j - i <= k (lower) else 0"""
    if input.ndim < 2:
        raise OpArgumentError(f"Trilu needs rank >= 2, got {input.ndim}")
    diag = 0 if k is None else scalar_int(k, "Trilu k")
    rows, cols = input.shape[-2:]
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]  # j - i
    keep = offset >= diag if upper else offset <= diag
    return np.where(keep, input, np.zeros((), input.dtype))
