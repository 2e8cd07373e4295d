"""A chart of the per-layer quantisation error: SQNR per layer as bars, cosine to float as a line,
in graph order. matplotlib (the `plot` extra) is imported here only; figures are built on its
object API with the Agg canvas (no pyplot, no GUI), as tools/plots.py draws.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from ...refimpl.errors import InputError

if TYPE_CHECKING:
    from .layer_report import QuantReport

FORMATS = (".png", ".svg", ".pdf")


def check_plot_file(path: str | Path) -> None:
    """Refuses a plot path up front: unknown suffix, missing folder, or matplotlib absent."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise InputError(f"--plot {path}: use a {', '.join(FORMATS)} file name")
    if not p.resolve().parent.is_dir():
        raise InputError(f"--plot {path}: folder {str(p.parent)!r} does not exist")
    _matplotlib()


def plot_layers(report: QuantReport, path: Path) -> None:
    check_plot_file(path)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [r for r in report.layers if r.sqnr_db is not None]
    names = [f"{r.node} ({r.op})" for r in rows]
    sqnr = [min(r.sqnr_db, 80.0) if math.isfinite(r.sqnr_db or 0) else 80.0 for r in rows]  # type: ignore[type-var]
    figure = Figure(figsize=(max(6.0, 0.22 * len(rows) + 2), 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.bar(range(len(rows)), sqnr, color="C0", label="SQNR (dB)")
    axes.set_ylabel("SQNR of the layer output (dB)")
    axes.set_xticks(range(len(rows)), names, rotation=90, fontsize=6)
    twin = axes.twinx()
    twin.plot(range(len(rows)), [r.cosine for r in rows], color="C3", marker=".", label="cosine")
    twin.set_ylabel("cosine to float")
    axes.set_title(f"per-layer quantisation error ({report.mode})")
    figure.savefig(path)


def _matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'gossamer[plot]'") from None
