"""Value domains and shape families: the building blocks of the case table.

Values are drawn from numpy's generator seeded by hypothesis (fast for 512-element tensors, and
still derandomised and shrinkable through the seed and the shapes). Shapes are hypothesis
strategies bounded by element count (MAX_ELEMENTS), with 0-d and empty shapes included where the
family allows them.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..refimpl.dtypes import FLOAT, INT, name_of, to_numpy

MAX_ELEMENTS = 512
Shape = tuple[int, ...]


def dtype_name(value: np.ndarray) -> str:
    return name_of(value.dtype)


# ---- value domains -------------------------------------------------------------------------------
# name -> (low, high) for floats; ints use the intersection with the dtype's range.
_FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "any": (-4.0, 4.0),
    "small": (-2.0, 2.0),
    "positive": (0.1, 4.0),
    "nonneg": (0.0, 4.0),
    "unit": (-0.99, 0.99),  # open (-1, 1): atanh, asin, acos
    "prob": (0.0, 1.0),
    "gt1": (1.0, 5.0),  # acosh
    "wide": (-100.0, 100.0),
    "exponent": (-2.0, 2.0),
    "shift": (0.0, 7.0),
}
_INT_RANGES: dict[str, tuple[int, int]] = {
    "any": (-20, 20),
    "small": (-3, 3),
    "positive": (1, 20),
    "nonneg": (0, 20),
    "unit": (-1, 1),
    "prob": (0, 1),
    "gt1": (1, 5),
    "wide": (-100, 100),
    "exponent": (0, 3),
    "shift": (0, 7),
}
DOMAINS = set(_FLOAT_RANGES) | {"nonzero", "bool", "int_valued", "distinct"}


def make(domain: str, shape: Shape, dtype: str, rng: np.random.Generator) -> np.ndarray:
    """An array of `shape`/`dtype` with values from the named domain."""
    dt = to_numpy(dtype)
    if dtype == "bool" or domain == "bool":
        return rng.random(shape) < 0.5
    if dtype in INT:
        info = np.iinfo(dt)
        lo, hi = _INT_RANGES.get(domain, _INT_RANGES["any"])
        lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
        if domain == "distinct":
            n = int(np.prod(shape))
            return rng.permutation(n).astype(dt).reshape(shape)
        out = rng.integers(lo, hi + 1, size=shape)
        if domain == "nonzero":
            out = np.where(out == 0, 1, out)
        return out.astype(dt)
    if domain == "nonzero":
        mag = rng.uniform(0.25, 4.0, size=shape)
        out = np.where(rng.random(shape) < 0.5, -mag, mag)
    elif domain == "int_valued":  # exactly representable: sums and products stay exact
        out = rng.integers(-8, 9, size=shape).astype(np.float64)
    elif domain == "distinct":  # no ties (argmax, topk, sort-like ops)
        n = int(np.prod(shape))
        out = (rng.permutation(n) - n / 2).reshape(shape) * 0.25
    else:
        lo, hi = _FLOAT_RANGES[domain]
        out = rng.uniform(lo, hi, size=shape)
    return np.asarray(out).astype(dt)


def as_array(value: Any, dtype: str) -> np.ndarray:
    return np.asarray(value, dtype=to_numpy(dtype))


# ---- shape families ------------------------------------------------------------------------------
# Sides where vectorised and tiled kernels break: SIMD widths (4/8/16 lanes), their neighbours
# (remainder loops), and cache-tile sizes. Each shape family draws one of these in about one
# example in three, besides small sides.
BLOCK_SIZES = (1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65)


def _size(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def fit(
    sides: list[int], keep: int | None = None, limit: int = MAX_ELEMENTS, floor: int = 1
) -> tuple[int, ...]:
    """`sides` with the largest sides (index `keep` last) lowered, not below `floor`, until the
    shape holds at most `limit` elements (or no side can be lowered)."""
    sides = list(sides)
    while _size(tuple(sides)) > limit:
        order = [i for i in range(len(sides)) if i != keep and sides[i] > floor]
        if not order and keep is not None:
            keep, order = None, [i for i in range(len(sides)) if sides[i] > floor]
        if not order:
            break
        i = max(order, key=lambda j: sides[j])
        sides[i] = max(floor, sides[i] // 2)
    return tuple(sides)


@functools.cache
def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """st.integers(lo, hi), built once (building strategies per draw is slow)."""
    return st.integers(lo, hi)


@functools.cache
def block_side(min_side: int = 0) -> st.SearchStrategy[int]:
    return st.sampled_from([b for b in BLOCK_SIZES if b >= min_side])


@st.composite
def shapes(
    draw: Any,
    min_rank: int = 0,
    max_rank: int = 4,
    min_side: int = 0,
    max_side: int = 5,
    blocks: bool = True,
) -> Shape:
    """One shape, bounded by MAX_ELEMENTS (0-d and empty included when the bounds allow). With
    `blocks`, one side (the innermost, half the time) is a BLOCK_SIZES side in one draw of three."""
    rank = draw(ints(min_rank, max_rank))
    sides = [draw(ints(min_side, max_side)) for _ in range(rank)]
    if blocks and rank and draw(ints(0, 2)) == 0:
        k = rank - 1 if draw(ints(0, 1)) else draw(ints(0, rank - 1))
        sides[k] = draw(block_side(max(1, min_side)))
        return fit(sides, keep=k, floor=max(1, min_side))
    return fit(sides, floor=max(1, min_side))


def unary(**kw: Any) -> st.SearchStrategy[tuple[Shape]]:
    return shapes(**kw).map(lambda s: (s,))


@st.composite
def broadcast(
    draw: Any,
    n: int = 2,
    min_rank: int = 0,
    max_rank: int = 4,
    min_side: int = 0,
    shuffle: bool = True,
) -> tuple[Shape, ...]:
    """n shapes that broadcast together: the full shape, then copies with leading dims dropped
    and some dims set to 1 (numpy/ONNX multidirectional broadcasting). shuffle=False keeps the
    full shape first (unidirectional broadcasting: PRelu slope, Gemm C)."""
    full = draw(shapes(min_rank, max_rank, min_side))
    out = [full]
    for _ in range(n - 1):
        drop = draw(ints(0, len(full)))
        part = list(full[drop:])
        ones = draw(ints(0, 4 ** len(part) - 1)) if part else 0  # 1 in 4 dims becomes 1
        for k in range(len(part)):
            if (ones >> (2 * k)) & 3 == 3:
                part[k] = 1
        out.append(tuple(part))
    if not shuffle:
        return tuple(out)
    order = draw(_PERMUTATIONS[n])
    return tuple(out[i] for i in order)


_PERMUTATIONS = {n: st.sampled_from(list(itertools.permutations(range(n)))) for n in range(1, 5)}


def same(n: int = 2, **kw: Any) -> st.SearchStrategy[tuple[Shape, ...]]:
    return shapes(**kw).map(lambda s: (s,) * n)


@st.composite
def nchw(draw: Any, spatial: int = 2, max_c: int = 4, max_hw: int = 7, min_hw: int = 1) -> Shape:
    """(N, C, *spatial): small, or (one draw in three) a BLOCK_SIZES channel count, or a
    BLOCK_SIZES innermost spatial side (odd remainders of vectorised loops), batch up to 3."""
    n = draw(ints(1, 3))
    c = draw(ints(1, max_c))
    hw = [draw(ints(min_hw, max_hw)) for _ in range(spatial)]
    wide = draw(ints(0, 5))
    if wide == 0:
        c = draw(block_side())
    elif wide == 1 and spatial:
        hw[-1] = max(min_hw, draw(block_side()))
    shape = (n, c, *hw)
    keep = 1 if wide == 0 else (len(shape) - 1 if wide == 1 and spatial else None)
    shape = fit(list(shape), keep=keep)
    if any(h < min_hw for h in shape[2:]):  # fit may not lower a spatial side below min_hw
        shape = (*shape[:2], *[max(h, min_hw) for h in shape[2:]])
    return shape


def axis_of(rank: int) -> st.SearchStrategy[int]:
    """A valid axis for a rank (negative forms included); 0 for 0-d tensors."""
    return ints(-rank, rank - 1) if rank else ints(0, 0)


def is_float(dtype: str) -> bool:
    return dtype in FLOAT
