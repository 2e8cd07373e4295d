"""Shared by the ReduceSum and ReduceMean VJPs: the output cotangent spread back over the input."""

from __future__ import annotations

import numpy as np

from .contract import like, work


def spread(dy: np.ndarray, x: np.ndarray, axes: tuple[int, ...], scale: float) -> np.ndarray:
    """dx = scale * dy broadcast over the reduced axes (dy re-expanded there when not kept)."""
    g = work(dy)
    if g.ndim != x.ndim:
        g = np.expand_dims(g, axes)
    return like(np.broadcast_to(g * g.dtype.type(scale), x.shape), x)
