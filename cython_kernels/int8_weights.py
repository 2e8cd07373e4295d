"""Products whose constant weight is int8 codes times a column scale run from the codes.

`refimpl/int8_codes.py` finds (or knows, from the load's expansion of Cast(codes) * scale) the
codes and column scales of a float32 weight, and only where float32(q) * scale rebuilds every bit.
The GEMM then reads the codes, a quarter of the bytes (src/gemm_i8w.h), and widens each with that
one float32 rounding: the product has the folded weight's exact bits.
"""

from __future__ import annotations

import os

import numpy as np

from ..refimpl.int8_codes import F32, int8_form, known
from ._native import ext
from .prepacked import packed_form

ENV = "GOSSAMER_INT8_WEIGHTS"  # "0": every weight packed as float32 (A/B measurements)


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


def pack(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The codes and column scales in src/gemm_i8w.h's panels."""
    from ._common import aligned_empty

    out = aligned_empty(ext().packed_b_i8w_size(*q.shape), np.int8)
    ext().pack_b_i8w(q, np.ascontiguousarray(scale, F32), out)
    return out


def packed_int8(
    weight: np.ndarray, b: np.ndarray, kind: str, params: dict[str, object]
) -> np.ndarray | None:
    """The int8 panels of a constant right operand `b` (float32 K x N, made from `weight`),
    filed under `kind` / `params` as a pre-packed form of `weight`, where its values are int8
    codes times column scales (and enabled()); else None (pack it as float32)."""
    if not enabled():
        return None
    form = _known(weight, b) or int8_form(b)
    if form is None:
        return None
    size = (ext().packed_b_i8w_size(*b.shape),)
    return packed_form(weight, kind, params, size, lambda: pack(*form), dtype=np.int8)


def _known(weight: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The form the load's expansion filed for `weight` (refimpl.int8_codes.known), where `b`
    holds weight's elements as they are (weight itself, or a same-shape view of it)."""
    if not isinstance(weight, np.ndarray) or b.shape != weight.shape:
        return None
    same = b is weight or (b.base is weight and b.flags.c_contiguous and weight.flags.c_contiguous)
    if not same:
        return None
    return known(weight)
