"""Coordinate helpers for GridSample: unnormalising, reflecting, and the cubic kernel."""

from __future__ import annotations

import numpy as np


def unnormalize(g: np.ndarray, size: int, align_corners: int) -> np.ndarray:
    """[-1, 1] -> pixel coordinates (corner pixel centres, or corner pixel edges)."""
    return (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2


def reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """x mirrored at lo and hi (repeatedly) until it lies in [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return np.full_like(x, lo)
    below, above = x < lo, x > hi
    dx = np.where(below, lo - x, np.where(above, x - hi, 0.0))
    flips = np.floor(dx / span)
    rest = dx - flips * span
    even = flips % 2 == 0
    from_lo = np.where(even, lo + rest, hi - rest)
    from_hi = np.where(even, hi - rest, lo + rest)
    return np.where(below, from_lo, np.where(above, from_hi, x))


def cubic_weights(t: np.ndarray, a: float = -0.75) -> list[np.ndarray]:
    """Keys weights of the taps at floor-1, floor, floor+1, floor+2 for fraction t."""

    def near(d):
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]
