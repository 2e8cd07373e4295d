"""The fold behind the variadic element-wise ops (Max, Min, Sum, Mean)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import OpArgumentError


def fold(
    op: str,
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    data: Sequence[np.ndarray],
    *,
    broadcast: bool,
) -> np.ndarray:
    """fn(...fn(fn(d0, d1), d2)..., dn) in d0's dtype; before opset 8 all shapes must be equal."""
    if not data:
        raise OpArgumentError(f"{op} needs at least one input")
    if not broadcast and any(d.shape != data[0].shape for d in data):
        shapes = [d.shape for d in data]
        raise OpArgumentError(f"{op} before opset 8 does not broadcast; got shapes {shapes}")
    out = data[0].copy()
    for d in data[1:]:
        out = fn(out, d).astype(data[0].dtype, copy=False)
    return out
