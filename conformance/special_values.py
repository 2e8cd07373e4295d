"""Special values: NaN, ±inf, -0.0, subnormals, float extremes, values that overflow naive
formulas, integer extremes.

Every input whose argument takes special values (value-domain inputs by default; see
`case.Arg.special`) gets them twice over: in one random example of four some elements are replaced
(`sprinkle`), and each cell runs deterministic "extremes" examples whose inputs cycle through the
whole pool (`fill`). So a kernel that flushes subnormals, mishandles NaN in max/min, drops the sign
of zero, computes exp(x) for x > 88 (float32) before dividing, squares 1e4 in float16, or
overflows at an integer extreme differs from the reference.
"""

from __future__ import annotations

import math

import numpy as np

from ..refimpl.dtypes import FLOAT, INT, name_of

# Domains whose special values must avoid undefined behaviour: integer x / 0 traps and
# INT_MIN / -1 overflows in C, so divisors never get 0 or -1.
_INT_EXCLUDED = {"nonzero": {0, -1}}


def specials(dtype: np.dtype, domain: str = "any", accumulate: bool = False) -> np.ndarray:
    """The special values of a dtype (as that dtype), for inputs of value domain `domain`.
    `accumulate`: for ops that sum signed terms (matmul, conv, ReduceSum, average pools), where a
    large finite value cancels against another in an order-dependent way (two correct kernels
    differ far beyond the tolerance); those are left out: NaN, ±inf, signed zeros and subnormals
    stay."""
    name = name_of(dtype)
    if name in FLOAT:
        info = _finfo(name)
        big = math.log(info["max"])  # exp(x) overflows above this: 88.72 in float32
        square = min(2.0 * math.sqrt(info["max"]), info["max"] / 2)  # x * x overflows
        vals = [np.nan, np.inf, -np.inf, -0.0, 0.0, info["denormal"], -info["denormal"],
                info["tiny"], 1.0, -1.0]  # fmt: skip
        if not accumulate:
            vals += [big + 0.5, -(big + 0.5), big - 0.5, -(big - 0.5), 1e4, -1e4, info["max"],
                     -info["max"], square, -square]  # fmt: skip
        return np.array(vals, dtype=np.float64).astype(dtype)
    if name in INT:
        info = np.iinfo(dtype)
        vals = {int(info.min), int(info.max), 0, 1, int(info.max) - 1}
        vals |= {-1, int(info.min) + 1} if info.min < 0 else set()
        vals -= _INT_EXCLUDED.get(domain, set())
        return np.array([np.dtype(dtype).type(v) for v in sorted(vals)], dtype=dtype)
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


def sprinkle(
    value: np.ndarray,
    rng: np.random.Generator,
    fraction: float = 0.25,
    domain: str = "any",
    accumulate: bool = False,
    pool_dtype: np.dtype | None = None,
) -> np.ndarray:
    """A copy of `value` with about `fraction` of its elements replaced by special values (those
    of `pool_dtype`, default value's dtype: see storage.py)."""
    pool = _pool(value.dtype, domain, accumulate, pool_dtype)
    if value.size == 0 or pool.size == 0:
        return value
    out = value.copy()
    flat = out.reshape(-1)
    mask = rng.random(flat.size) < fraction
    mask[rng.integers(flat.size)] = True  # at least one
    flat[mask] = pool[rng.integers(0, pool.size, size=int(mask.sum()))]
    return out


def fill(
    value: np.ndarray,
    offset: int,
    domain: str = "any",
    accumulate: bool = False,
    pool_dtype: np.dtype | None = None,
) -> np.ndarray:
    """A copy of `value` whose elements cycle through the whole pool, starting at `offset` (so
    an input with at least as many elements as the pool holds every special value once); every
    other element keeps its ordinary value, so finite neighbours still meet the specials."""
    pool = _pool(value.dtype, domain, accumulate, pool_dtype)
    if value.size == 0 or pool.size == 0:
        return value
    out = value.copy()
    flat = out.reshape(-1)
    take = np.arange(0, flat.size, 2) if flat.size >= 2 * pool.size else np.arange(flat.size)
    flat[take] = pool[(offset + np.arange(take.size)) % pool.size]
    return out


def _pool(
    dtype: np.dtype, domain: str, accumulate: bool, pool_dtype: np.dtype | None
) -> np.ndarray:
    """The special values of `pool_dtype` (default `dtype`) as `dtype`: a backend storing float32
    as float16 gets half's specials, exactly representable in float32."""
    if pool_dtype is None or np.dtype(pool_dtype) == np.dtype(dtype):
        return specials(dtype, domain, accumulate)
    return specials(pool_dtype, domain, accumulate).astype(dtype)


def pool_size(dtype: np.dtype) -> int:
    return int(specials(dtype).size)
