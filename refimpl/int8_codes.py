"""Float32 weights that are int8 codes times a column scale: found from their values, or known
from how they were made.

A weight-only quantised model stores a product's weight as int8 codes q and a float32 scale per
output column (or one for the tensor), rebuilt by Cast + Mul; gossamer.load folds that to
float32 once (converter/optimizer/weight_expansion.py), as onnxruntime does, and the optimiser
may then join such weights (matmul_batching's Q, K and V). `int8_form(w)` finds q and the column
scales back from the float32 values, and only where w == float32(q) * scale holds bit for bit
for every element: a kernel that reads the codes (cython_kernels/int8_weights.py) and widens each
with that one float32 rounding gets the folded weight's exact bits, and a saved model may store
the codes instead of the floats (converter/optimizer/weight_compaction.py). A float model's
weight of more than 256 rows fails on its first column (more than 256 distinct values: codes
have at most 256), a smaller one on its first column and its largest |value|.

`remember(w, q, scale)` files the form of an array whose making shows it (the expansion of
Cast(codes) * scale computes exactly float32(q) * scale); `known(w)` returns it for that same
array object while it lives, so its user need not search for it.
"""

from __future__ import annotations

import weakref

import numpy as np

F32 = np.float32
# the code the largest |w| of a column (or of the tensor) is tried at: symmetric quantisers map
# it to 127, some to the int8 range's 128
PEAKS = (127, 128)
SMALLEST_SCALE = np.finfo(F32).tiny  # normal scales only: no product of a code is subnormal


def int8_form(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(q, scale): int8 codes (K x N) and float32 column scales (N) with float32(q) * scale ==
    w bit for bit, every scale a normal float; None where no such pair was found."""
    if w.dtype != F32 or w.ndim != 2 or 0 in w.shape:
        return None
    if w.shape[0] > 256 and _distinct(w[:, 0]) > 256:  # codes take at most 256 values, so a
        return None  # float weight's column shows it (without reading the whole tensor)
    if _columns(w[:, :1], None) is not None:  # per column (or a per-tensor scale whose peak
        form = _columns(w, None)  # the first column reaches: others may not)
        if form is not None:
            return form
    peak = max(F32(w.max()), F32(-w.min()))
    if _columns(w[:, :1], peak) is None:  # a float weight stops here
        return None
    return _columns(w, peak)


def _distinct(values: np.ndarray) -> int:
    """How many distinct values (by sorting: np.unique imports numpy.ma, ~12 ms of a process's
    first load)."""
    ordered = np.sort(values)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1])) if ordered.size else 0


def _columns(w: np.ndarray, peak: F32 | None) -> tuple[np.ndarray, np.ndarray] | None:
    """int8_form of w's columns: each scale tried at its column's largest |w| over PEAKS (and
    their float32 neighbours), or given the tensor's largest |w| `peak`, at `peak` over PEAKS."""
    k, n = w.shape
    high, low = w.max(axis=0), w.min(axis=0)
    amax = np.maximum(high, -low)
    if not np.isfinite(amax).all():
        return None
    bits = w.view(np.uint32)
    todo = np.ones(n, bool)
    zero = np.flatnonzero(amax == 0)
    if zero.size:  # an all +0.0 column: codes 0, scale 1 (a -0.0 in it has no code)
        todo[zero] = ~(bits[:, zero] == 0).all(axis=0)
    q: np.ndarray | None = None
    scale = np.ones(n, F32)
    tops = [amax] if peak is None else [np.full(n, peak, F32)]
    tries = [top / F32(p) for top in tops for p in PEAKS]
    tries += [np.nextafter(t, F32(d)) for t in tries[:] for d in (np.inf, 0)]
    for tried in tries:
        usable = todo & (tried >= SMALLEST_SCALE)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # (unusable tries)
            inverse = F32(1) / tried
            # the codes' range from each column's extremes, rounded as _codes rounds them (w *
            # inverse and its rounding are monotonic in w): no pass over the codes for it
            usable &= (_rounded(high * inverse) <= 127) & (_rounded(low * inverse) >= -128)
        cols = np.flatnonzero(usable)
        if not cols.size:
            continue
        every = cols.size == n  # (no copies of w: the first try of an int8 weight)
        pick = slice(None) if every else cols
        codes, ok = _codes(w[:, pick], bits[:, pick], tried[pick], inverse[pick])
        if every and ok.all():
            return codes.astype(np.int8), tried
        if q is None:
            q = np.zeros((k, n), np.int8)
        scale[cols[ok]] = tried[cols[ok]]
        q[:, cols[ok]] = codes[:, ok]
        todo[cols[ok]] = False
        if not todo.any():
            return q, scale
    return None


MAGIC = F32(1.5 * 2**23)  # x + MAGIC - MAGIC is x rounded to the nearest integer, ties to even
ROWS_PER_STEP_BYTES = 256 * 1024  # _codes works on row blocks this big: its temporaries in L2


def _rounded(x: np.ndarray) -> np.ndarray:
    """x (|x| < 2**22) rounded to integers, ties to even, as float32 (-0.0 becomes +0.0)."""
    return (x + MAGIC) - MAGIC


def _codes(
    w: np.ndarray, bits: np.ndarray, scale: np.ndarray, inverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(codes, exact): the float32 codes rint(w * inverse) (K x N; every |code| <= 128 by the
    caller's range check) and, per column, whether float32(code) * scale rebuilds w's bits in
    every row. w * inverse (not w / scale) is within an ulp of w / scale, far from a tie where w
    is code * scale: a code the check accepts is exact whichever of the two found it. A code 0
    is +0.0 (as the kernel widens it), so a -0.0 weight is refused. One row block at a time, so
    the products and the comparison stay in L2 (whole-array passes ran from memory: 2.6x)."""
    k, n = w.shape
    codes = np.empty((k, n), F32)
    step = max(1, ROWS_PER_STEP_BYTES // (4 * n))
    made = np.empty((min(step, k), n), F32)
    exact = np.ones(n, bool)
    for r in range(0, k, step):
        block, rebuilt = codes[r : r + step], made[: min(step, k - r)]
        np.multiply(w[r : r + step], inverse, out=block)
        block += MAGIC
        block -= MAGIC
        np.multiply(block, scale, out=rebuilt)
        exact &= (rebuilt.view(np.uint32) == bits[r : r + step]).all(axis=0)
    return codes, exact


# id(array) -> (weak reference to it, codes, column scales): forms filed by remember()
_KNOWN: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray]] = {}


def remember(w: np.ndarray, q: np.ndarray, scale: np.ndarray) -> bool:
    """Files (q, scale) as the int8 form of the array `w` (float32 K x N), which its caller made
    as float32(q) * scale (q: int8 K x N; scale: N float32 or one): known(w) returns it. Only
    the forms int8_form could find are filed (normal positive scales: no product of a code is
    subnormal); False where nothing was filed."""
    if w.dtype != F32 or w.ndim != 2 or q.dtype != np.int8 or q.shape != w.shape:
        return False
    n = w.shape[1]
    scale = np.asarray(scale)
    if scale.dtype != F32 or scale.shape not in ((), (1,), (n,), (1, n)):
        return False
    scale = np.ascontiguousarray(np.broadcast_to(scale.reshape(-1), (n,)))
    if not (np.isfinite(scale).all() and (scale >= SMALLEST_SCALE).all()):
        return False
    key = id(w)
    _KNOWN[key] = (weakref.ref(w, lambda _: _KNOWN.pop(key, None)), q, scale)
    return True


def known(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The form remember() filed for this very array (None: none, or another array)."""
    entry = _KNOWN.get(id(w))
    if entry is None or entry[0]() is not w:
        return None
    return entry[1], entry[2]
