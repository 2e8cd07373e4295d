"""Weights that are int8 codes times a column scale, recognised from their float32 values.

A weight-only quantised model stores a product's weight as int8 codes q and a float32 scale per
output column (or one for the tensor), rebuilt by Cast + Mul; gossamer.load folds that to
float32 once (converter/optimizer/weight_expansion.py), as onnxruntime does, and the optimiser
may then join such weights (matmul_batching's Q, K and V). `int8_form(w)` finds q and the column
scales back from the float32 values, and only where w == float32(q) * scale holds bit for bit
for every element. The GEMM then reads the codes, a quarter of the bytes (src/gemm_i8w.h), and
widens each with that one float32 rounding: the product has the folded weight's exact bits. A
float model's weight of more than 256 rows fails on its first column (more than 256 distinct
values: codes have at most 256), a smaller one on its first column and its largest |value|.
"""

from __future__ import annotations

import os

import numpy as np

from ._native import ext
from .prepacked import packed_form

F32 = np.float32
ENV = "GOSSAMER_INT8_WEIGHTS"  # "0": every weight packed as float32 (A/B measurements)
# the code the largest |w| of a column (or of the tensor) is tried at: symmetric quantisers map
# it to 127, some to the int8 range's 128
PEAKS = (127, 128)
SMALLEST_SCALE = np.finfo(F32).tiny  # normal scales only: no product of a code is subnormal


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


def int8_form(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(q, scale): int8 codes (K x N) and float32 column scales (N) with float32(q) * scale ==
    w bit for bit, every scale a normal float; None where no such pair was found."""
    if w.dtype != F32 or w.ndim != 2 or 0 in w.shape:
        return None
    if w.shape[0] > 256 and np.unique(w[:, 0]).size > 256:  # codes take at most 256 values, so
        return None  # a float weight's column shows it (without reading the whole tensor)
    if _columns(w[:, :1], None) is not None:  # per column (or a per-tensor scale whose peak
        form = _columns(w, None)  # the first column reaches: others may not)
        if form is not None:
            return form
    peak = max(F32(w.max()), F32(-w.min()))
    if _columns(w[:, :1], peak) is None:  # a float weight stops here
        return None
    return _columns(w, peak)


def _columns(w: np.ndarray, peak: F32 | None) -> tuple[np.ndarray, np.ndarray] | None:
    """int8_form of w's columns: each scale tried at its column's largest |w| over PEAKS (and
    their float32 neighbours), or given the tensor's largest |w| `peak`, at `peak` over PEAKS."""
    k, n = w.shape
    amax = np.maximum(w.max(axis=0), -w.min(axis=0))
    if not np.isfinite(amax).all():
        return None
    bits = w.view(np.uint32)
    q = np.zeros((k, n), np.int8)
    scale = np.ones(n, F32)  # an all +0.0 column: codes 0, scale 1
    todo = ~((amax == 0) & (bits == 0).all(axis=0))
    tops = [amax] if peak is None else [np.full(n, peak, F32)]
    tries = [top / F32(p) for top in tops for p in PEAKS]
    tries += [np.nextafter(t, F32(d)) for t in tries[:] for d in (np.inf, 0)]
    for tried in tries:
        cols = np.flatnonzero(todo & (tried >= SMALLEST_SCALE))
        if not cols.size:
            continue
        every = cols.size == n  # (no copies of w: the first try of an int8 weight)
        s = tried if every else tried[cols]
        codes = np.divide(w if every else w[:, cols], s)
        np.rint(codes, out=codes)
        codes += F32(0)  # a -0.0 weight rounds to code -0.0; the kernel widens code 0 to +0.0
        made = np.multiply(codes, s).view(np.uint32)
        if every and np.array_equal(made, bits) and codes.min() >= -128 and codes.max() <= 127:
            return codes.astype(np.int8), s
        exact = (made == (bits if every else bits[:, cols])).all(axis=0)
        ok = exact & (codes.min(axis=0) >= -128) & (codes.max(axis=0) <= 127)
        scale[cols[ok]] = s[ok]
        q[:, cols[ok]] = codes[:, ok]
        todo[cols[ok]] = False
        if not todo.any():
            return q, scale
    return None


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
    form = int8_form(b)
    if form is None:
        return None
    size = (ext().packed_b_i8w_size(*b.shape),)
    return packed_form(weight, kind, params, size, lambda: pack(*form), dtype=np.int8)
