"""The Cython kernels' keys for pre-packed weights (the lookup itself: plugins/prepacked.py).

Every packing point of a constant weight calls `packed_form(weight, kind, params, shape, build)`
with `build` the kernel's own packing function (one implementation). The key names the backend,
the packing layout version, the SIMD level now selected and the packing parameters, so a file
packed on another machine, at another GOSSAMER_SIMD level or by another layout version simply
repacks: never a wrong result.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from ..plugins.prepacked import packed_form as _lookup
from ._native import simd_level

# Bump when any stored layout changes (panel sizes in src/gemm.h, the Winograd transforms, the
# direct kernel's W^T): files packed by an older layout then repack instead of misreading.
PACK_FORMAT = 1
BACKEND = "cython"


def pack_key(kind: str, params: dict[str, object]) -> str:
    """backend/kind/vFORMAT/simd=LEVEL/k=v,... (parameters sorted by name)."""
    detail = ",".join(f"{k}={params[k]}" for k in sorted(params))
    return f"{BACKEND}/{kind}/v{PACK_FORMAT}/simd={simd_level()}/{detail}"


def packed_form(
    weight: np.ndarray | None,
    kind: str,
    params: dict[str, object],
    shape: tuple[int, ...],
    build: Callable[[], np.ndarray],
    dtype: type = np.float32,
    place: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The stored form of `weight` of exactly `dtype` and `shape` under this key (moved by
    `place`, where given: plugins/prepacked.py), else `build()`."""
    if weight is None:
        return build()
    return _lookup(weight, pack_key(kind, params), shape, build, dtype, place)


def digest(array: np.ndarray | None) -> str:
    """A short checksum of a small constant the packing also reads (a zero point), for keys."""
    if array is None:
        return "none"
    data = np.ascontiguousarray(array)
    shape = "x".join(map(str, data.shape))
    return f"{data.dtype.name}[{shape}]:{zlib.crc32(data.reshape(-1).view(np.uint8)):08x}"
