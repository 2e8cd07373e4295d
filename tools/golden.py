"""Golden outputs: a benchmark's outputs written once to an `.npz`, compared on later runs.

The comparison is MindSpore Lite's benchmark check: per output the mean relative error (percent;
per element |a - b| / |b|, or |a - b| where |b| <= 1e-6) and the cosine similarity. Above the
threshold the check fails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.errors import InputError

_NEAR_ZERO = 1e-6  # below this |reference| the error counts as absolute, not relative


@dataclass
class OutputCheck:
    """One output against its golden value."""

    name: str
    mean_rel_err_pct: float
    cosine: float
    ok: bool
    note: str = ""


@dataclass
class GoldenResult:
    path: str
    action: str  # "wrote" or "compared"
    threshold_pct: float
    outputs: list[OutputCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.ok for o in self.outputs)


def check_golden(
    path: str | Path, names: Sequence[str], outputs: Sequence[Any], threshold_pct: float = 1.0
) -> GoldenResult:
    """Writes the outputs to `path` if it does not exist; otherwise compares them with it."""
    path = Path(path)
    arrays = {n: v for n, v in zip(names, outputs) if isinstance(v, np.ndarray)}
    if not path.exists():
        storable = {n: (v.astype(str) if v.dtype == object else v) for n, v in arrays.items()}
        np.savez(path, **storable)  # type: ignore[arg-type]  # numpy's stub reads it as allow_pickle
        return GoldenResult(str(path), "wrote", threshold_pct)
    try:
        with np.load(path, allow_pickle=False) as stored:
            golden = {k: stored[k] for k in stored.files}
    except (OSError, ValueError) as err:
        raise InputError(f"golden file {str(path)!r} is not a readable .npz: {err}") from None
    result = GoldenResult(str(path), "compared", threshold_pct)
    for name in names:
        if name not in arrays:
            continue  # a sequence or map output has no stored array
        if name not in golden:
            note = f"not in the golden file (it has {sorted(golden)})"
            result.outputs.append(OutputCheck(name, math.inf, 0.0, False, note))
            continue
        error, cosine, note = compare_output(arrays[name], golden[name])
        result.outputs.append(OutputCheck(name, error, cosine, error <= threshold_pct, note))
    return result


def compare_output(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float, str]:
    """(mean relative error in percent, cosine similarity, note) of `actual` against `expected`."""
    if actual.shape != expected.shape:
        return math.inf, 0.0, f"shape {list(actual.shape)} != golden {list(expected.shape)}"
    if actual.dtype.kind in "OUS" or expected.dtype.kind in "OUS":
        same = bool(np.array_equal(actual.astype(str), expected.astype(str)))
        return (0.0, 1.0, "") if same else (100.0, 0.0, "strings differ")
    a = actual.astype(np.float64).ravel()
    b = expected.astype(np.float64).ravel()
    if a.size == 0:
        return 0.0, 1.0, "empty"
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN on one side only is an infinite error
    scale = np.where(np.abs(b) > _NEAR_ZERO, np.abs(b), 1.0)
    err = float(np.mean(diff / scale) * 100)
    finite = np.isfinite(a) & np.isfinite(b)
    a, b = a[finite], b[finite]
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0:
        cosine = 1.0 if not a.any() and not b.any() else 0.0
    else:
        cosine = float(np.dot(a, b) / norms)
    return err, cosine, ""
