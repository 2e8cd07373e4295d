"""The op x dtype matrix: a terminal table, a Markdown report, a JSON report, and (report_html.py)
a colour grid as self-contained HTML or PNG."""

from __future__ import annotations

import json
from pathlib import Path

from .runner import UNEXPECTED, CellResult
from .summary import SYMBOL, dtype_columns, summary, summary_line


def _rows(results: list[CellResult]) -> dict[str, dict[str, CellResult]]:
    rows: dict[str, dict[str, CellResult]] = {}
    for r in results:
        rows.setdefault(r.case_id, {})[r.dtype] = r
    return rows


def matrix_table(results: list[CellResult], markdown: bool = False) -> str:
    """The op x dtype matrix; cells: ok, FAIL, ERROR, XPASS, xfail, - (not claimed)."""
    dtypes = dtype_columns(results)
    rows = _rows(results)
    width = max([len(c) for c in rows] + [4])
    lines = []
    if markdown:
        lines.append("| case | " + " | ".join(dtypes) + " |")
        lines.append("|---" * (len(dtypes) + 1) + "|")
    else:
        lines.append(f"{'case':<{width}}  " + " ".join(f"{d:>8}" for d in dtypes))
    for case_id, cells in rows.items():
        marks = [SYMBOL[cells[d].status] if d in cells else "" for d in dtypes]
        if markdown:
            lines.append(f"| {case_id} | " + " | ".join(marks) + " |")
        else:
            lines.append(f"{case_id:<{width}}  " + " ".join(f"{m:>8}" for m in marks))
    return "\n".join(lines)


def failures_text(results: list[CellResult], repro: bool = True) -> str:
    out = []
    for r in results:
        if r.status in UNEXPECTED or r.status == "xfail":
            out.append(f"{r.status.upper()} {r.case_id} [{r.dtype}] on {r.backend}: {r.message}")
            if repro and r.repro and r.status in UNEXPECTED:
                out.append("```python\n" + r.repro + "\n```")
    return "\n".join(out)


def check_report_path(path: str | Path) -> None:
    """Raises ConformanceUsageError, before anything runs, for a report that cannot be written."""
    from .suite import ConformanceUsageError

    if Path(path).suffix.lower() == ".png":
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConformanceUsageError(
                f"{path}: a .png report needs matplotlib (pip install 'gossamer[plot]'); a "
                ".html report draws the same colour grid without it"
            ) from None
    if not Path(path).resolve().parent.is_dir():
        raise ConformanceUsageError(f"{path}: the folder of the report does not exist")


def write_report(results: list[CellResult], path: str | Path, backend: str, seconds: float) -> None:
    """Writes `path` as JSON (.json), a colour grid (.html, .htm; .png with matplotlib) or
    Markdown (anything else)."""
    from .report_html import html_report, write_png

    path = Path(path)
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(html_report(results, backend, seconds), encoding="utf-8")
        return
    if path.suffix.lower() == ".png":
        write_png(results, path, backend)
        return
    if path.suffix == ".json":
        doc = {
            "backend": backend,
            "seconds": round(seconds, 3),
            "summary": dict(summary(results)),
            "dtypes": dtype_columns(results),
            "cells": [r.as_dict() for r in results],
        }
        path.write_text(json.dumps(doc, indent=1))
        return
    text = [
        f"# Conformance of backend `{backend}`",
        "",
        summary_line(results, seconds),
        "",
        "Legend: ok = pass, FAIL = differs from the reference, ERROR = the reference itself "
        "raised, XPASS = listed as xfail but passes, xfail = expected failure, - = not claimed.",
        "",
        matrix_table(results, markdown=True),
        "",
    ]
    failures = failures_text(results)
    if failures:
        text += ["## Failures (each with a runnable repro)", "", failures, ""]
    path.write_text("\n".join(text))
