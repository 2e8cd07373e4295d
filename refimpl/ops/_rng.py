"""Random generators of the random ops.

Values come from numpy's PCG64 (`np.random.default_rng`), so they can never equal another engine's
draws even with the same `seed`: only shapes, dtypes and value ranges/distributions are comparable.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import FLOAT, name_of
from ..errors import OpArgumentError
from ._onnx_types import float_dtype_from_code


def generator(seed: float | None) -> np.random.Generator:
    """default_rng(seed) for a whole non-negative seed; other float seeds by their IEEE-754 bits.

    Without a seed the generator is seeded from the OS, as ONNX leaves the values unspecified.
    """
    if seed is None:
        return np.random.default_rng()
    if float(seed).is_integer() and seed >= 0:
        return np.random.default_rng(int(seed))
    return np.random.default_rng(int(np.float64(seed).view(np.uint64)))


def output_dtype(code: int | None, like: np.ndarray | None = None) -> np.dtype:
    """The float dtype named by a `dtype` attribute, else that of the `like` input."""
    if code is not None:
        return float_dtype_from_code(code)
    if like is None or name_of(like.dtype) not in FLOAT:
        got = "no input" if like is None else name_of(like.dtype)
        raise OpArgumentError(f"set the dtype attribute: the output must be a float type ({got})")
    return like.dtype


def check_shape(shape: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    if any(d < 0 for d in shape):
        raise OpArgumentError(f"shape must not have negative dimensions, got {list(shape)}")
    return tuple(int(d) for d in shape)
