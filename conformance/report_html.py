"""The op x dtype matrix as a picture: a self-contained HTML page (inline CSS, no script, no
external resource) or, where matplotlib is installed, a PNG.

Each cell is coloured by its verdict (pass, fail, error, xpass, xfail, not claimed); hovering
shows the message. Below the grid, every unexpected result with its runnable repro.
"""

from __future__ import annotations

import html
from collections import Counter
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
    out += ["</p>", '<table class="grid"><thead><tr><th>case</th>']
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


def write_png(results: list[CellResult], path: Path, backend: str) -> None:
    """The grid as a PNG (needs matplotlib, an optional dependency)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
    except ImportError as err:
        raise ValueError(
            "a .png report needs matplotlib (pip install 'gossamer[bench]'); write a .html "
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
