"""Comparing a backend's outputs with the reference's, with error statistics.

Which elements mismatch is decided by `refimpl.mismatch.mismatches`, the one definition shared with
`gossamer compare`: |actual - expected| > max(atol, rtol * median|expected|) + rtol * |expected|
for floats, NaN/inf agreeing exactly, integers within `atol` units (0: exact), bool and strings
exact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..refimpl.dtypes import FLOAT
from ..refimpl.mismatch import mismatches
from .tolerances import Tolerance


@dataclass
class Stats:
    """Error statistics of one output: max abs, max rel, how many elements are out of tolerance."""

    max_abs: float = 0.0
    max_rel: float = 0.0
    mismatched: int = 0
    total: int = 0
    nonfinite_mismatched: int = 0  # NaN or ±inf on one side only, or infinities of other sign
    atol_eff: float = 0.0  # the absolute tolerance applied (the tensor's magnitude may raise it)

    def describe(self) -> str:
        text = (
            f"max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g}, "
            f"mismatched {self.mismatched}/{self.total}"
        )
        if self.atol_eff:
            text += f" (atol applied {self.atol_eff:.1e})"
        if self.nonfinite_mismatched:
            text += f" ({self.nonfinite_mismatched} NaN/inf mismatch(es))"
        return text


def _wide(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "biu":
        return a.astype(np.float64) if a.dtype.kind != "b" else a.astype(np.int64)
    return a.astype(np.float64)


def compare_arrays(expected: np.ndarray, actual: np.ndarray, tol: Tolerance) -> Stats:
    """Elementwise: NaN must match NaN, infinities exactly, the rest within tolerance."""
    with np.errstate(all="ignore"):
        return _compare(expected, actual, tol)


def _compare(expected: np.ndarray, actual: np.ndarray, tol: Tolerance) -> Stats:
    e, a = _wide(expected), _wide(actual)
    stats = Stats(total=int(e.size))
    if e.size == 0:
        return stats
    both_finite = np.isfinite(e) & np.isfinite(a)
    diff = np.where(both_finite, np.abs(a - e), 0.0)
    rel = np.where(both_finite & (e != 0), diff / np.where(e == 0, 1.0, np.abs(e)), 0.0)
    found = mismatches(actual, expected, rtol=tol.rtol, atol=tol.atol, int_units=int(tol.atol))
    stats.nonfinite_mismatched = int(found.nonfinite.sum())
    stats.atol_eff = found.atol_eff if found.atol_eff > tol.atol else 0.0
    stats.max_abs = float(diff.max())
    stats.max_rel = float(rel.max())
    stats.mismatched = found.count
    return stats


def compare_outputs(
    expected: list[Any], actual: list[Any], tols: list[Tolerance]
) -> tuple[list[str], list[Stats | None]]:
    """Problems (empty = equal) and per-output statistics."""
    problems: list[str] = []
    all_stats: list[Stats | None] = []
    if len(expected) != len(actual):
        return [f"{len(actual)} outputs, expected {len(expected)}"], []
    for k, (e, a, tol) in enumerate(zip(expected, actual, tols)):
        where = f"output {k}"
        if isinstance(e, list):  # a sequence value: compare element by element
            if not isinstance(a, list) or len(a) != len(e):
                problems.append(f"{where}: expected a sequence of {len(e)}, got {_kind(a)}")
                all_stats.append(None)
                continue
            sub, _ = compare_outputs(e, a, [tol] * len(e))
            problems.extend(f"{where}{p[6:]}" for p in sub)
            all_stats.append(None)
            continue
        if not isinstance(a, np.ndarray) or not isinstance(e, np.ndarray):
            if not (a is None and e is None):
                problems.append(f"{where}: expected {_kind(e)}, got {_kind(a)}")
            all_stats.append(None)
            continue
        if a.dtype != e.dtype:
            problems.append(f"{where}: dtype {a.dtype} != expected {e.dtype}")
            all_stats.append(None)
            continue
        if a.shape != e.shape:
            problems.append(f"{where}: shape {list(a.shape)} != expected {list(e.shape)}")
            all_stats.append(None)
            continue
        if e.dtype == object:
            same = not mismatches(a, e, rtol=0.0, atol=0.0).count
            problems.extend([] if same else [f"{where}: strings differ"])
            all_stats.append(None)
            continue
        stats = compare_arrays(e, a, tol)
        all_stats.append(stats)
        if stats.mismatched:
            problems.append(f"{where}: {stats.describe()} ({tol.describe()})")
    return problems, all_stats


def _kind(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array {v.dtype}{list(v.shape)}"
    return type(v).__name__


def same_bits(before: np.ndarray, after: np.ndarray) -> bool:
    """True if an input is bit-for-bit unchanged (NaN-safe)."""
    return (
        before.shape == after.shape
        and before.dtype == after.dtype
        and (before.dtype == object and np.array_equal(before, after) or
             before.dtype != object and before.tobytes() == after.tobytes())
    )  # fmt: skip


def is_float(dtype: np.dtype) -> bool:
    return dtype.name in FLOAT or dtype.kind == "f"
