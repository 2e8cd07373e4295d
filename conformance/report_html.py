"""The op x dtype matrix as a picture: a self-contained HTML page (inline CSS, no script, no
external resource) or, where matplotlib is installed, a PNG.

The page holds two grids, as ONNX Runtime's and the ONNX backend-test dashboards show them: ops x
op versions (one row per op, one column per version a case tests: `v13` is the Softmax defined
since opset 13; a cell sums that version's cases and dtypes, coloured by its worst verdict; graph
cases have the column `graph`), and — when the results hold several backends — ops x backends;
then the full case x dtype matrix. Each cell is coloured by its verdict (pass, fail, error,
xpass, xfail, not claimed = skipped); hovering shows the message. Below the grids, every
unexpected result with its runnable repro.
"""

from __future__ import annotations

import html
from collections import Counter
from functools import cache
from pathlib import Path

from .runner import UNEXPECTED, CellResult
from .summary import dtype_columns, summary_line

COLOURS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "error": "#6a1b9a",
    "xpass": "#ef6c00",
    "xfail": "#f9a825",
    "not claimed": "#d9d9d9",
}
LABELS = {"pass": "ok", "fail": "FAIL", "error": "ERROR", "xpass": "XPASS", "xfail": "xfail",
          "not claimed": "-"}  # fmt: skip
# A cell of the summary grids takes the colour of its worst member, in this order.
SEVERITY = ("fail", "error", "xpass", "xfail", "pass", "not claimed")
_CSS = """
body { font: 13px system-ui, sans-serif; margin: 1.5em; color: #222; }
table.grid { border-collapse: collapse; }
.grid th, .grid td { border: 1px solid #fff; padding: 2px 6px; text-align: center; }
.grid th { background: #f4f4f4; position: sticky; top: 0; font-weight: 600; }
.grid td.case { text-align: left; background: #fafafa; font-family: monospace; }
.grid td.v { color: #fff; font-size: 11px; min-width: 3.5em; }
.grid td.v.s-not-claimed, .grid td.v.s-xfail { color: #333; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 4px; color: #fff; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 11px; }
.grid td.empty { background: #fafafa; }
"""


def html_report(results: list[CellResult], backend: str, seconds: float) -> str:
    """The whole report page."""
    dtypes = dtype_columns(results)
    rows: dict[str, dict[str, CellResult]] = {}
    for r in results:
        rows.setdefault(r.case_id, {})[r.dtype] = r
    esc = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Conformance of {esc(backend)}</title><style>{_CSS}</style></head><body>",
           f"<h1>Conformance of backend <code>{esc(backend)}</code></h1>",
           f"<p>{esc(summary_line(results, seconds))}</p>", '<p class="legend">']  # fmt: skip
    counts = Counter(r.status for r in results)
    for status, colour in COLOURS.items():
        text = "#333" if status in ("not claimed", "xfail") else "#fff"
        out.append(f'<span style="background:{colour};color:{text}">{esc(LABELS[status])} = '
                   f"{esc(status)} ({counts.get(status, 0)})</span>")  # fmt: skip
    out.append("</p>")
    out += ["<h2>By op and version</h2>", *grid_table(results, "op", "version")]
    if len({r.backend for r in results}) > 1:
        out += ["<h2>By op and backend</h2>", *grid_table(results, "op", "backend")]
    out += ["<h2>By case and dtype</h2>", '<table class="grid"><thead><tr><th>case</th>']
    out += [f"<th>{esc(d)}</th>" for d in dtypes] + ["</tr></thead><tbody>"]
    for case_id, cells in rows.items():
        out.append(f'<tr><td class="case">{esc(case_id)}</td>')
        for d in dtypes:
            cell = cells.get(d)
            if cell is None:
                out.append("<td></td>")
                continue
            tip = f"{cell.status}: {cell.message}" if cell.message else cell.status
            tip += f" ({cell.claimed}/{cell.examples} examples claimed)"
            klass = "s-" + cell.status.replace(" ", "-")
            out.append(f'<td class="v {klass}" style="background:{COLOURS[cell.status]}" '
                       f'title="{esc(tip)}">{esc(LABELS[cell.status])}</td>')  # fmt: skip
        out.append("</tr>")
    out.append("</tbody></table>")
    bad = [r for r in results if r.status in UNEXPECTED or r.status == "xfail"]
    if bad:
        out.append("<h2>Failures (each with a runnable repro)</h2>")
    for r in bad:
        title = f"{r.status.upper()} {r.case_id} [{r.dtype}]: {r.message}"
        out.append(f"<details><summary>{esc(title)}</summary>")
        if r.repro:
            out.append(f"<pre>{esc(r.repro)}</pre>")
        out.append("</details>")
    out.append("</body></html>")
    return "\n".join(out)


def grid_keys(result: CellResult) -> dict[str, str]:
    """The labels a cell can be grouped by: its op (with domain), op version, backend, dtype."""
    return {
        "op": result.op if not result.domain else f"{result.domain}::{result.op}",
        "version": op_version(result.case_id),
        "backend": result.backend,
        "dtype": result.dtype,
    }


def grid_cells(
    results: list[CellResult], rows: str, cols: str
) -> tuple[list[str], list[str], dict[tuple[str, str], list[CellResult]]]:
    """Row labels (sorted by name, graph cases last), column labels (sorted: versions by number)
    and the results in each (row, column) cell, grouped by two of `grid_keys`."""
    groups: dict[tuple[str, str], list[CellResult]] = {}
    for r in results:
        keys = grid_keys(r)
        groups.setdefault((keys[rows], keys[cols]), []).append(r)
    row_labels = sorted({row for row, _ in groups}, key=lambda r: (r == "graph", r.lower(), r))
    col_labels = sorted({col for _, col in groups}, key=_column_order)
    return row_labels, col_labels, groups


def grid_table(results: list[CellResult], rows: str, cols: str) -> list[str]:
    """An HTML table, one row per `rows` label and one column per `cols` label; a cell holds the
    worst verdict of its results (and how many passed), its title lists each one."""
    row_labels, col_labels, groups = grid_cells(results, rows, cols)
    esc = html.escape
    out = [f'<table class="grid" id="by-{esc(rows)}-{esc(cols)}"><thead><tr><th>{esc(rows)}</th>']
    out += [f"<th>{esc(c)}</th>" for c in col_labels] + ["</tr></thead><tbody>"]
    for row in row_labels:
        out.append(f'<tr><td class="case">{esc(row)}</td>')
        for col in col_labels:
            members = groups.get((row, col))
            if not members:
                out.append('<td class="empty"></td>')
                continue
            worst = min((m.status for m in members), key=SEVERITY.index)
            passed = sum(m.status == "pass" for m in members)
            label = LABELS[worst]
            if 0 < passed < len(members):  # mixed: how many of the cell's results passed
                label += f" {passed}/{len(members)} ok"
            tip = "\n".join(_member(m) for m in members)
            klass = "s-" + worst.replace(" ", "-")
            out.append(f'<td class="v g {klass}" style="background:{COLOURS[worst]}" '
                       f'title="{esc(tip)}">{esc(label)}</td>')  # fmt: skip
        out.append("</tr>")
    out.append("</tbody></table>")
    return out


def _member(r: CellResult) -> str:
    return f"{r.case_id} [{r.dtype}] on {r.backend}: {r.status}" + (
        f" ({r.message})" if r.message else ""
    )


def _column_order(label: str) -> tuple[int, str]:
    return (int(label[1:]), "") if label[:1] == "v" and label[1:].isdigit() else (1 << 30, label)


@cache
def op_version(case_id: str) -> str:
    """`vN`: the version of its op a case tests (the newest defined at or before the case's
    opset); `graph` for graph-level cases; `?` for an id no case has."""
    from ..plugins.manager import op_registry
    from .case import opset_of
    from .cases import all_cases

    if case_id.startswith("graph:"):
        return "graph"
    case = next((c for c in all_cases() if c.id == case_id), None)
    if case is None:
        return "?"
    opset = opset_of(case)
    versions = [v for v in op_registry().versions(case.domain, case.op) if v <= opset]
    return f"v{max(versions)}" if versions else f"opset{opset}"


def write_png(results: list[CellResult], path: Path, backend: str) -> None:
    """The grid as a PNG (needs matplotlib, an optional dependency)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
    except ImportError as err:
        raise ValueError(
            "a .png report needs matplotlib (pip install 'gossamer[plot]'); write a .html "
            "report for the same grid without it"
        ) from err
    import numpy as np

    statuses = list(COLOURS)
    dtypes = dtype_columns(results)
    cases = list(dict.fromkeys(r.case_id for r in results))
    grid = np.full((len(cases), len(dtypes)), np.nan)
    for r in results:
        grid[cases.index(r.case_id), dtypes.index(r.dtype)] = statuses.index(r.status)
    height = max(3.0, 0.16 * len(cases))
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(dtypes), height))
    ax.imshow(np.ma.masked_invalid(grid), cmap=ListedColormap(list(COLOURS.values())),
              vmin=0, vmax=len(statuses) - 1, aspect="auto", interpolation="nearest")  # fmt: skip
    ax.set_xticks(range(len(dtypes)), dtypes, rotation=60, fontsize=7)
    ax.set_yticks(range(len(cases)), cases, fontsize=5)
    ax.set_title(f"conformance of {backend}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
