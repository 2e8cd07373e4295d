"""The blocked channel layout NCHWc that the graph pass `channel_blocking` plans for CPU kernels:
(N, C, *spatial) stored as (N, C/c, *spatial, c), the c channels of one pixel adjacent."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError


def block(x: np.ndarray, size: int, op: str) -> np.ndarray:
    """x (N, C, *spatial) as (N, C/size, *spatial, size)."""
    if x.ndim < 3 or size < 1 or x.shape[1] % size:
        raise OpArgumentError(
            f"{op}: input {list(x.shape)} is not (N, C, spatial...) with C a multiple of "
            f"block {size}"
        )
    n, c, *spatial = x.shape
    return np.ascontiguousarray(np.moveaxis(x.reshape(n, c // size, size, *spatial), 2, -1))


def unblock(x: np.ndarray, op: str) -> np.ndarray:
    """x (N, C/c, *spatial, c) as (N, C, *spatial)."""
    if x.ndim < 4:
        raise OpArgumentError(f"{op}: input {list(x.shape)} is not blocked (N, C/c, spatial..., c)")
    n, cb, *spatial, size = x.shape
    return np.ascontiguousarray(np.moveaxis(x, -1, 2)).reshape(n, cb * size, *spatial)
