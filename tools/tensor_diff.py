"""How far apart two runtime values are: the error statistics `gossamer compare` reports.

Which elements mismatch is decided by `refimpl.mismatch.mismatches`, the definition the conformance
suite uses too (b is the trusted side):
    mismatches = #{|a - b| > atol_eff + rtol |b|} + #{positions where NaN/inf disagree},
    atol_eff   = max(atol, rtol * median |b| over b's finite non-zero elements)
so an element near zero in a large-magnitude tensor is judged against the tensor's scale, not its
own (see refimpl/mismatch.py for why). Integers, bool and strings are compared exactly.
The statistics, for float tensors (in float64 over the positions finite on both sides):
    max_abs  = max |a - b|
    max_rel  = max |a - b| / max(|b|, floor),  floor = max(atol, 1e-12)
    mean_rel = mean |a - b| / max(|b|, floor)
    cosine   = <a, b> / (|a| |b|)  (1 when both are zero)
A shape, dtype or kind mismatch is a `problem`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..refimpl.interpreter import describe_value
from ..refimpl.mismatch import Mismatch, mismatches


@dataclass
class TensorDiff:
    """The error statistics of side A's value against side B's (the trusted one)."""

    max_abs: float = 0.0
    max_rel: float = 0.0
    mean_rel: float = 0.0
    cosine: float = 1.0
    mismatches: int = 0  # elements outside tolerance, NaN/inf disagreements included
    nonfinite: int = 0  # elements where NaN/inf differ (one side NaN, or infinities that differ)
    size: int = 0
    atol_eff: float = 0.0  # the absolute tolerance applied: max(atol, rtol * median |b|)
    tol_ratio: float = 0.0  # max |a - b| / (atol_eff + rtol |b|): > 1 is outside tolerance
    problem: str = ""  # shape / dtype / kind mismatch: nothing else is comparable

    @property
    def diverges(self) -> bool:
        return bool(self.problem) or self.mismatches > 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("max_abs", "max_rel", "mean_rel", "cosine", "atol_eff", "tol_ratio"):
            out[key] = _json_float(out[key])
        return out


def diff_values(a: Any, b: Any, *, rtol: float, atol: float) -> TensorDiff:
    """Compares any two runtime values (arrays, sequences of arrays, None)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return diff_arrays(a, b, rtol=rtol, atol=atol)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return TensorDiff(problem=f"sequence length {len(a)} vs {len(b)}")
        return merge_diffs([diff_values(x, y, rtol=rtol, atol=atol) for x, y in zip(a, b)])
    if a is None and b is None:
        return TensorDiff()
    if type(a) is not type(b):
        return TensorDiff(problem=f"{describe_value(a)} vs {describe_value(b)}")
    same = bool(a == b)
    return TensorDiff(mismatches=0 if same else 1, size=1, problem="" if same else "values differ",
                      tol_ratio=0.0 if same else math.inf)  # fmt: skip


def diff_arrays(a: np.ndarray, b: np.ndarray, *, rtol: float, atol: float) -> TensorDiff:
    if a.dtype != b.dtype:
        return TensorDiff(size=b.size, problem=f"dtype {_dtype(a)} vs {_dtype(b)}")
    if a.shape != b.shape:
        return TensorDiff(size=b.size, problem=f"shape {list(a.shape)} vs {list(b.shape)}")
    if b.size == 0:
        return TensorDiff()
    found = mismatches(a, b, rtol=rtol, atol=atol)  # integers: exact (no unit allowance)
    if a.dtype == object or a.dtype.kind in "USb":
        return TensorDiff(max_abs=float(found.count > 0), mismatches=found.count, size=b.size,
                          tol_ratio=found.worst)  # fmt: skip
    if a.dtype.kind in "iu":
        return _ints(a, b, found)
    with np.errstate(invalid="ignore", over="ignore"):
        return _floats(a.astype(np.float64), b.astype(np.float64), atol, found)


def _floats(a: np.ndarray, b: np.ndarray, atol: float, found: Mismatch) -> TensorDiff:
    finite = np.isfinite(a) & np.isfinite(b)
    fa, fb = (a.ravel(), b.ravel()) if finite.all() else (a[finite], b[finite])
    err = np.abs(fa - fb)
    rel = err / np.maximum(np.abs(fb), max(atol, 1e-12))
    return TensorDiff(
        max_abs=float(err.max(initial=0.0)),
        max_rel=float(rel.max(initial=0.0)),
        mean_rel=float(rel.mean()) if rel.size else 0.0,
        cosine=_cosine(fa, fb),
        mismatches=found.count,
        nonfinite=int(np.count_nonzero(found.nonfinite)),
        size=int(b.size),
        atol_eff=found.atol_eff,
        tol_ratio=found.worst,
    )


def _ints(x: np.ndarray, y: np.ndarray, found: Mismatch) -> TensorDiff:
    a, b = x.astype(np.float64), y.astype(np.float64)  # for the statistics; equality stays exact
    err = np.abs(a - b)
    rel = err / np.maximum(np.abs(b), 1.0)
    return TensorDiff(
        max_abs=float(err.max()),
        max_rel=float(rel.max()),
        mean_rel=float(rel.mean()),
        cosine=_cosine(a, b),
        mismatches=found.count,
        size=int(b.size),
        tol_ratio=found.worst,
    )


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    na, nb = math.sqrt(float(np.dot(a, a))), math.sqrt(float(np.dot(b, b)))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0 or not math.isfinite(na * nb):
        return 0.0 if math.isfinite(na * nb) else float("nan")
    return float(np.dot(a, b) / (na * nb))


def merge_diffs(parts: list[TensorDiff]) -> TensorDiff:
    """One diff for several values: the worst of each statistic, counts summed."""
    if not parts:
        return TensorDiff()
    problems = [p.problem for p in parts if p.problem]
    size = sum(p.size for p in parts)
    return TensorDiff(
        max_abs=max(p.max_abs for p in parts),
        max_rel=max(p.max_rel for p in parts),
        mean_rel=sum(p.mean_rel * p.size for p in parts) / size if size else 0.0,
        cosine=min(p.cosine for p in parts),
        mismatches=sum(p.mismatches for p in parts),
        nonfinite=sum(p.nonfinite for p in parts),
        size=size,
        problem=problems[0] if problems else "",
        atol_eff=max(p.atol_eff for p in parts),
        tol_ratio=max(p.tol_ratio for p in parts),
    )


def _dtype(a: np.ndarray) -> str:
    return "string" if a.dtype == object else str(a.dtype)


def _json_float(x: float) -> float | str:
    return x if math.isfinite(x) else str(x)
