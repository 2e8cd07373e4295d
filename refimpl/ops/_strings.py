"""String tensors: Gossamer stores them as numpy object arrays of `str`; numpy's vectorised
`np.strings` functions want StringDType, which keeps every string exactly (no padding, no
stripping of trailing NULs), so ops convert at their edges."""

from __future__ import annotations

import numpy as np

STRING_DTYPE = np.dtypes.StringDType()


def as_strings(x: np.ndarray) -> np.ndarray:
    """object array of str -> StringDType array (same shape)"""
    return np.asarray(x, dtype=object).astype(STRING_DTYPE)


def as_objects(x: np.ndarray) -> np.ndarray:
    """StringDType (or any) array -> object array of Python str (Gossamer's string tensors)"""
    x = np.asarray(x, dtype=STRING_DTYPE)  # np.strings returns a bare str for 0-d inputs
    out = np.empty(x.shape, dtype=object)
    out[...] = x.astype(object)
    return out
