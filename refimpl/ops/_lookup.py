"""Vectorised key -> value lookup (LabelEncoder), by sorting the keys once."""

from __future__ import annotations

import numpy as np


def lookup(x: np.ndarray, keys: np.ndarray, values: np.ndarray, default) -> np.ndarray:
    """y = values[j] where keys[j] == x, else default (a repeated key's last value; NaN == NaN)"""
    out = np.full(x.shape, default, dtype=values.dtype)
    if keys.size == 0 or x.size == 0:
        return out
    # np.unique keeps the first of equal keys: unique the reversed keys to keep the last one.
    unique_keys, first = np.unique(keys[::-1], return_index=True)
    unique_values = values[::-1][first]
    pos = np.minimum(np.searchsorted(unique_keys, x), unique_keys.size - 1)
    found = unique_keys[pos] == x
    if unique_keys.dtype.kind == "f":
        found |= np.isnan(unique_keys[pos]) & np.isnan(x)
    out[found] = unique_values[pos[found]]
    return out
