"""Special values: NaN, ±inf, -0.0, denormals, float extremes, integer extremes.

Cases marked `special=True` get one example in four with some elements replaced by these values
(in every non-constant input), so a kernel that flushes denormals, mishandles NaN in max/min,
drops the sign of zero or overflows at an integer extreme differs from the reference.
"""

from __future__ import annotations

import numpy as np

from ..refimpl.dtypes import FLOAT, INT, name_of


def specials(dtype: np.dtype) -> np.ndarray:
    """The special values of a dtype (as that dtype)."""
    name = name_of(dtype)
    if name in FLOAT:
        info = _finfo(name)
        vals = [np.nan, np.inf, -np.inf, -0.0, 0.0, info["denormal"], -info["denormal"],
                info["tiny"], info["max"], -info["max"], 1.0, -1.0]  # fmt: skip
        return np.array(vals, dtype=np.float64).astype(dtype)
    if name in INT:
        info = np.iinfo(dtype)
        vals = sorted(
            {int(info.min), int(info.max), 0, 1, int(info.max) - 1}
            | ({-1, int(info.min) + 1} if info.min < 0 else set())
        )
        return np.array([np.dtype(dtype).type(v) for v in vals], dtype=dtype)
    if name == "bool":
        return np.array([False, True])
    return np.array([], dtype=dtype)


def _finfo(name: str) -> dict[str, float]:
    import ml_dtypes

    info = ml_dtypes.finfo(ml_dtypes.bfloat16) if name == "bfloat16" else np.finfo(name)
    return {
        "denormal": float(info.smallest_subnormal),
        "tiny": float(info.smallest_normal),
        "max": float(info.max),
    }


def sprinkle(value: np.ndarray, rng: np.random.Generator, fraction: float = 0.25) -> np.ndarray:
    """A copy of `value` with about `fraction` of its elements replaced by special values."""
    pool = specials(value.dtype)
    if value.size == 0 or pool.size == 0:
        return value
    out = value.copy()
    flat = out.reshape(-1)
    mask = rng.random(flat.size) < fraction
    mask[rng.integers(flat.size)] = True  # at least one
    flat[mask] = pool[rng.integers(0, pool.size, size=int(mask.sum()))]
    return out
