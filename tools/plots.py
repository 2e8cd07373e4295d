"""Charts for the tools' reports, drawn with matplotlib (the optional `plot` extra).

    bar_chart("ops.png", ["Conv", "Relu"], {"cython": [3.1, 0.4], "reference": [0.0, 0.2]})
    line_chart("speed.svg", [1, 2, 4], {"gossamer": [9.0, 5.1, 3.0]}, log_y=True)

Each function draws one figure, saves it to `path` (the suffix picks the format: .png, .svg or
.pdf) and returns the path written. Figures are built on matplotlib's object API with the Agg
canvas, never pyplot: no GUI backend is touched and no global figure state is left behind.
A series keeps its colour across charts of one report when the same `colors` are passed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..refimpl.errors import GossamerError

FORMATS = (".png", ".svg", ".pdf")
EXTRA = "pip install 'gossamer[plot]'"


class PlotError(GossamerError):
    """A chart cannot be drawn: matplotlib is missing, or the path has an unknown format."""


def check_plot_path(path: str | os.PathLike[str]) -> Path:
    """`path` as a Path once it is known to be writable as a chart (raises PlotError otherwise);
    call it before long work so the user learns of a mistake at once."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise PlotError(
            f"{str(out)!r}: a plot is written as {', '.join(FORMATS)}; got {out.suffix or 'no'} "
            "suffix"
        )
    if not out.resolve().parent.is_dir():
        raise PlotError(f"{str(out)!r}: the folder {str(out.parent)!r} does not exist")
    _matplotlib()
    return out


def series_colors(names: Sequence[str]) -> dict[str, str]:
    """A distinct colour per name (matplotlib's tab10 cycle, in order)."""
    palette = [f"C{i}" for i in range(10)]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def bar_chart(
    path: str | os.PathLike[str],
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str = "",
    value_label: str = "",
    horizontal: bool = True,
    stacked: bool = True,
    colors: Mapping[str, str] | None = None,
    legend: bool | None = None,
) -> str:
    """One bar per label; each series is a segment (stacked) or a bar of its own (grouped).
    Horizontal bars list the first label at the top, so pass labels in reading order. The
    legend names the series (default: when there is more than one)."""
    _check_series(labels, series)
    figure, axes = _figure(len(labels) if horizontal else 6, horizontal)
    colors = colors or series_colors(list(series))
    positions = list(range(len(labels)))
    width = 0.8 if stacked else 0.8 / max(1, len(series))
    base = [0.0] * len(labels)
    for k, (name, values) in enumerate(series.items()):
        offset = 0.0 if stacked else (k - (len(series) - 1) / 2) * width
        where = [p + offset for p in positions]
        style: dict[str, Any] = {"label": name, "color": colors.get(name)}
        if horizontal:
            axes.barh(where, values, height=width, left=base if stacked else None, **style)
        else:
            axes.bar(where, values, width=width, bottom=base if stacked else None, **style)
        if stacked:
            base = [b + v for b, v in zip(base, values)]
    if horizontal:
        axes.set_yticks(positions, list(labels))
        axes.invert_yaxis()  # the first label on top, as a table reads
        axes.set_xlabel(value_label)
        axes.grid(axis="x", alpha=0.3)
    else:
        axes.set_xticks(positions, list(labels), rotation=45, ha="right")
        axes.set_ylabel(value_label)
        axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    show = len(series) > 1 if legend is None else legend
    # bars sorted longest first leave the lower right corner free
    return _finish(figure, axes, path, title, show, "lower right" if horizontal else "best")


def line_chart(
    path: str | os.PathLike[str],
    x: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    log_x: bool = False,
    log_y: bool = False,
    colors: Mapping[str, str] | None = None,
) -> str:
    """One line (with markers) per series over the shared `x`; a None value leaves a gap."""
    _check_series(x, series)
    figure, axes = _figure(6, horizontal=False)
    colors = colors or series_colors(list(series))
    for name, values in series.items():
        ys = [float("nan") if v is None else v for v in values]
        axes.plot(list(x), ys, marker="o", label=name, color=colors.get(name))
    if log_x:
        axes.set_xscale("log")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(alpha=0.3)
    return _finish(figure, axes, path, title, len(series) > 1, "best")


# ---- shared ------------------------------------------------------------------------------------
def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotError(f"plots need matplotlib: {EXTRA}") from None
    return matplotlib


def _check_series(axis: Sequence[Any], series: Mapping[str, Sequence[Any]]) -> None:
    for name, values in series.items():
        if len(values) != len(axis):
            raise PlotError(f"series {name!r} has {len(values)} values for {len(axis)} positions")


def _figure(rows: int, horizontal: bool) -> tuple[Any, Any]:
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = min(40.0, 1.2 + 0.28 * rows) if horizontal else 4.5
    figure = Figure(figsize=(8.0, max(2.5, height)), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _finish(
    figure: Any, axes: Any, path: str | os.PathLike[str], title: str, legend: bool, where: str
) -> str:
    out = check_plot_path(path)
    if title:
        axes.set_title(title)
    if legend:
        axes.legend(loc=where)
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable
        figure.savefig(out, dpi=150)
    return str(out)
