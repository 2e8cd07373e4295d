"""Feeds that match a session's inputs: dtype and shape, symbolic and unknown dims set to 1..4
(32..64 for the non-batch axes of a rank-4, image-like input)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_FEED_ELEMENTS = 2**22  # a declared input larger than this is not fed (the run is skipped)


def make_feeds(
    inputs: list[Any], rng: np.random.Generator, symbols: dict[str, int] | None = None
) -> dict[str, Any] | None:
    """One array per input, shaped and typed as `sess.inputs` declares (a symbol gets one value
    for all inputs, kept in `symbols`); None when a declared shape cannot be fed (negative or too
    large dims)."""
    from gossamer.refimpl.dtypes import to_numpy

    symbols = {} if symbols is None else symbols
    feeds: dict[str, Any] = {}
    for spec in inputs:
        if spec.shape is None:
            shape: list[int] = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 4)))]
        else:
            shape = []
            for axis, dim in enumerate(spec.shape):
                # the spatial axes of an image-like input get room for a few convolutions
                low, high = (32, 65) if len(spec.shape) == 4 and axis > 0 else (1, 5)
                if isinstance(dim, str):
                    dim = symbols.setdefault(dim, int(rng.integers(low, high)))
                elif dim is None:
                    dim = int(rng.integers(low, high))
                shape.append(dim)
        if any(d < 0 for d in shape) or math.prod(max(d, 1) for d in shape) > MAX_FEED_ELEMENTS:
            return None
        dtype = spec.dtype or "float32"
        if dtype == "string":
            value: Any = np.array(["a", "bc", ""], dtype=object)[rng.integers(0, 3, size=shape)]
        else:
            np_type = to_numpy(dtype)
            if np_type.kind == "b":
                value = rng.random(shape) < 0.5
            elif np_type.kind in "iu":
                value = rng.integers(0, 4, size=shape).astype(np_type)
            else:
                value = rng.standard_normal(shape).astype(np_type)
        if spec.kind == "sequence":
            value = [value]
        feeds[spec.name] = value
    return feeds
