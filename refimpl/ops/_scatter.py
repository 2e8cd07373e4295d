"""The write step shared by Scatter, ScatterElements and ScatterND."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError

_REDUCERS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def scatter_into(
    data: np.ndarray, index: tuple[np.ndarray, ...], updates: np.ndarray, reduction: str, allowed
) -> np.ndarray:
    """out = copy(data); out[index] = updates, or out[index] op= updates (repeats accumulate)."""
    if reduction not in allowed:
        raise OpArgumentError(f"reduction {reduction!r} is not one of {sorted(allowed)}")
    out = data.copy()
    if reduction == "none":
        out[index] = updates
    else:
        _REDUCERS[reduction].at(out, index, updates)
    return out
