"""What every view of the op x dtype matrix shares: the dtype column order, the verdict counts and
the one-line summary (report.py and report_html.py both build on it)."""

from __future__ import annotations

from collections import Counter

from .runner import UNEXPECTED, CellResult

SYMBOL = {"pass": "ok", "fail": "FAIL", "not claimed": "-", "xfail": "xfail", "xpass": "XPASS",
          "error": "ERROR"}  # fmt: skip
DTYPE_ORDER = ["float32", "float16", "bfloat16", "float64", "int8", "uint8", "int16", "uint16",
               "int32", "uint32", "int64", "uint64", "bool"]  # fmt: skip


def dtype_columns(results: list[CellResult]) -> list[str]:
    """The dtypes present in `results`: the usual ones in DTYPE_ORDER, then any others sorted."""
    seen = {r.dtype for r in results}
    return [d for d in DTYPE_ORDER if d in seen] + sorted(seen - set(DTYPE_ORDER))


def summary(results: list[CellResult]) -> Counter:
    return Counter(r.status for r in results)


def summary_line(results: list[CellResult], seconds: float | None = None) -> str:
    counts = summary(results)
    parts = [f"{counts.get(s, 0)} {s}" for s in SYMBOL if counts.get(s)]
    unexpected = sum(counts.get(s, 0) for s in UNEXPECTED)
    tail = f" in {seconds:.1f} s" if seconds is not None else ""
    return f"{len(results)} cells: " + ", ".join(parts) + f"; {unexpected} unexpected" + tail
