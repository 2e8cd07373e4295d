"""erf without scipy: a positive power series below 3 and the erfc continued fraction above it.

Both are evaluated in float64 for whole arrays at once (the loops run over series terms, not over
elements); the result is accurate to a few float64 ulps, far beyond what float32 needs.
"""

from __future__ import annotations

import math

import numpy as np

_SPLIT = 3.0
_SERIES_TERMS = 90
_FRACTION_TERMS = 80


def erf(x: np.ndarray) -> np.ndarray:
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, in float64."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    near = a < _SPLIT  # NaN goes to the far branch, which keeps it NaN
    s = np.where(near, a, 0.0)
    # erf(s) = 2/sqrt(pi) exp(-s^2) sum_n 2^n s^(2n+1) / (1*3*...*(2n+1)): no cancellation.
    term = s.copy()
    total = s.copy()
    for n in range(1, _SERIES_TERMS):
        term = term * (2.0 * s * s) / (2 * n + 1)
        total = total + term
    series = (2.0 / math.sqrt(math.pi)) * np.exp(-s * s) * total
    # erfc(t) = exp(-t^2)/sqrt(pi) / (t + (1/2)/(t + 1/(t + (3/2)/(t + ...)))), from the bottom up.
    t = np.where(near, _SPLIT, a)
    frac = t.copy()
    for k in range(_FRACTION_TERMS, 0, -1):
        frac = t + (k / 2.0) / frac
    tail = 1.0 - np.exp(-t * t) / (math.sqrt(math.pi) * frac)
    return np.copysign(np.where(near, series, tail), x)
