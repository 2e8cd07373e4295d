"""Value domains and shape families: the building blocks of the case table.

Values are drawn from numpy's generator seeded by hypothesis (fast for 512-element tensors, and
still derandomised and shrinkable through the seed and the shapes). Shapes are hypothesis
strategies bounded by element count (MAX_ELEMENTS), with 0-d and empty shapes included where the
family allows them.
"""

from __future__ import annotations

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
def _size(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def shapes(
    min_rank: int = 0, max_rank: int = 4, min_side: int = 0, max_side: int = 5
) -> st.SearchStrategy[Shape]:
    """One shape, bounded by MAX_ELEMENTS (0-d and empty included when the bounds allow)."""
    return (
        st.lists(st.integers(min_side, max_side), min_size=min_rank, max_size=max_rank)
        .map(tuple)
        .filter(lambda s: _size(s) <= MAX_ELEMENTS)
    )


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
        drop = draw(st.integers(0, len(full)))
        part = list(full[drop:])
        for k in range(len(part)):
            if draw(st.booleans()) and draw(st.booleans()):
                part[k] = 1
        out.append(tuple(part))
    if not shuffle:
        return tuple(out)
    order = draw(st.permutations(range(n)))
    return tuple(out[i] for i in order)


def same(n: int = 2, **kw: Any) -> st.SearchStrategy[tuple[Shape, ...]]:
    return shapes(**kw).map(lambda s: (s,) * n)


@st.composite
def nchw(draw: Any, spatial: int = 2, max_c: int = 4, max_hw: int = 7, min_hw: int = 1) -> Shape:
    n = draw(st.integers(1, 2))
    c = draw(st.integers(1, max_c))
    hw = [draw(st.integers(min_hw, max_hw)) for _ in range(spatial)]
    shape = (n, c, *hw)
    if _size(shape) > MAX_ELEMENTS:
        shape = (1, c, *[min(h, 4) for h in hw])
    return shape


def axis_of(rank: int) -> st.SearchStrategy[int]:
    """A valid axis for a rank (negative forms included); 0 for 0-d tensors."""
    return st.integers(-rank, rank - 1) if rank else st.just(0)


def is_float(dtype: str) -> bool:
    return dtype in FLOAT
