"""The one definition of "mismatch": when an element of a computed value is not what the trusted
value says. The conformance suite (conformance/output_check.py) and `gossamer compare`
(tools/tensor_diff.py) both call `mismatches`, so "outside tolerance" means the same everywhere.

An element a of `actual` mismatches the element b of the trusted `expected` when

    floats     both finite and |a - b| > atol_eff + rtol * |b|,
               atol_eff = max(atol, rtol * m),  m = median |b| over the finite non-zero b;
               or NaN/inf disagree: NaN matches only NaN, an infinity only the same infinity
    integers   |a - b| > int_units, computed exactly (0 by default: exact; quantised outputs whose
               spec allows rounding freedom pass 1)
    bool, str  a != b

Why atol is floored at rtol * m. The rounding error of a computed element scales with the
magnitude of the operands that produced it, not with the element: a sum, a dot product or a
near-cancelling x * (x + 3) gives a value near zero that still carries the rounding error of its
operands (a few float32 ulps of *their* size, more after a long accumulation). Judged by
rtol * |b| alone (b is tiny) plus an atol chosen without knowing the tensor's scale, such an
element "mismatches" although nothing is wrong: one element of 230,400 in a hard-swish output of
ppocrv4_rec (0.0091, operand error 4e-5 from float32 accumulation order upstream) was flagged
with cosine 1.000000. The tensor's typical magnitude m stands for the operands' magnitude, and an
element may differ by rtol of it. For elements at least as large as m this at most doubles the
allowance (rtol * (|b| + m) <= 2 rtol |b|); only elements far below the typical magnitude gain,
which is where cancellation noise lives. A real bug (a wrong bias, a misplaced window, a dropped
term) moves elements by a sizeable fraction of m and is still caught.

Why the median of the non-zero |b|, and not the maximum or the RMS: a minority of huge values
(activation outliers; the conformance suite's +-max, +-1e4 special values, a fifth of an
extremes example's elements) must not loosen the check of the ordinary elements beside them, and
the median ignores anything under half of the elements. Exact zeros (ReLU outputs, padding,
masks) carry no scale and are left out, so a sparse tensor keeps its typical non-zero magnitude.
With rtol = 0 the floor is 0: an exact tolerance stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mismatch:
    """Where `actual` mismatches `expected` (boolean masks shaped like `expected`)."""

    outside: np.ndarray  # compared values outside tolerance (both finite; or integers, bool, str)
    nonfinite: np.ndarray  # NaN/inf that disagree (one side NaN, or differing infinities)
    atol_eff: float  # the absolute tolerance applied: max(atol, rtol * magnitude(expected))
    worst: float = 0.0  # max |a - b| / (atol_eff + rtol |b|) over compared elements; > 1: outside

    @property
    def mask(self) -> np.ndarray:
        return self.outside | self.nonfinite

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.outside)) + int(np.count_nonzero(self.nonfinite))


def magnitude(expected: np.ndarray) -> float:
    """The typical magnitude of a float tensor: median |x| over its finite non-zero elements
    (0 if there are none)."""
    wide = expected if expected.dtype.kind == "f" else expected.astype(np.float32)
    flat = np.abs(wide.reshape(-1))
    flat = flat[np.isfinite(flat) & (flat != 0)]
    return float(np.median(flat)) if flat.size else 0.0


def effective_atol(expected: np.ndarray, *, rtol: float, atol: float) -> float:
    """max(atol, rtol * magnitude(expected)): the absolute tolerance for a float tensor."""
    if rtol == 0:
        return atol
    return max(atol, rtol * magnitude(expected))


def mismatches(
    actual: np.ndarray, expected: np.ndarray, *, rtol: float, atol: float, int_units: int = 0
) -> Mismatch:
    """Which elements of `actual` mismatch the trusted `expected` (same shape and dtype; see the
    module docstring for the definition)."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        raise ValueError(
            f"mismatches() needs equal shapes and dtypes, got {actual.dtype}{list(actual.shape)} "
            f"and {expected.dtype}{list(expected.shape)}"
        )
    none = np.zeros(expected.shape, dtype=bool)
    name = expected.dtype.name
    if expected.dtype.kind in "iu" or name in _ML_INTS:
        distance = _int_distance(actual, expected)
        return Mismatch(distance > int_units, none, 0.0, _ratio(distance.max(initial=0), int_units))
    if expected.dtype.kind != "f" and not (name.startswith("float") or name == "bfloat16"):
        wrong = np.asarray(actual != expected, dtype=bool)  # bool, strings
        return Mismatch(wrong, none, 0.0, _ratio(int(wrong.any()), 0))
    a = actual.astype(np.float64)
    b = expected.astype(np.float64)
    atol_eff = effective_atol(expected, rtol=rtol, atol=atol)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        finite = np.isfinite(a) & np.isfinite(b)
        nonfinite = ~finite & ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if not finite.all():  # compare the finite pairs only
            a, b = np.where(finite, a, 0.0), np.where(finite, b, 0.0)
        err = np.abs(a - b)
        allowed = atol_eff + rtol * np.abs(b)
        outside = err > allowed
        worst = float(np.max(err / allowed, initial=0.0)) if atol_eff > 0 else _worst(err, allowed)
    return Mismatch(outside, nonfinite, atol_eff, worst)


def _worst(err: np.ndarray, allowed: np.ndarray) -> float:
    """max err / allowed where the allowance may be 0 (atol 0): inf at a difference there."""
    if np.any((err > 0) & (allowed == 0)):
        return float("inf")
    return float(np.max(np.where(err > 0, err / np.where(allowed > 0, allowed, 1.0), 0.0),
                        initial=0.0))  # fmt: skip


def _ratio(distance: float, allowed: float) -> float:
    if distance == 0:
        return 0.0
    return float(distance) / allowed if allowed > 0 else float("inf")


# ml_dtypes' sub-byte integers are numpy kind "V" (its floats too: bfloat16, float8_*, float4_*).
_ML_INTS = frozenset({"int2", "uint2", "int4", "uint4"})


def _int_distance(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """|a - b| exactly, as unsigned integers of the same width (no overflow at the extremes)."""
    if expected.dtype.name in _ML_INTS:  # sub-byte: widen, the difference fits in int16
        actual, expected = actual.astype(np.int16), expected.astype(np.int16)
    unsigned = np.dtype(f"u{expected.dtype.itemsize}")
    a, b = actual.view(unsigned), expected.view(unsigned)
    larger = actual >= expected
    with np.errstate(over="ignore"):
        return np.where(larger, a - b, b - a)
