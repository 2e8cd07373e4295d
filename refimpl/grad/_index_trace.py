"""The VJP of an op that only moves elements (Slice, Gather, Pad, MaxPool's chosen taps...).

Run the forward op on the flat positions of x instead of on x: each output element then names the
input element it copied (-1: none, e.g. constant padding). The cotangent of x is the sum of the
output cotangents at each position, so the VJP follows the forward's own indexing rules exactly
(clamping, negative indices, reflect/edge padding) without restating them.
"""

from __future__ import annotations

import numpy as np


def positions(shape: tuple[int, ...]) -> np.ndarray:
    """An int64 array of `shape` holding each element's flat (row-major) position."""
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def scatter_add(dy: np.ndarray, source: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """dx of `shape`: dx.flat[p] = Σ dy where source == p (source < 0 contributes nothing)."""
    source = np.broadcast_to(source, dy.shape).ravel()
    g = dy.ravel()
    keep = source >= 0
    size = int(np.prod(shape, dtype=np.int64))
    summed = np.bincount(source[keep], weights=g[keep].astype(np.float64), minlength=size)
    return summed.reshape(shape)
