"""`gossamer compare --plot out.png`: the error of every compared node along the execution order.

Three series on one log-scale axis, one point per compared value (side B's execution order on x):
max relative error, cosine distance (1 - cosine) and error / tolerance (the mismatch criterion of
refimpl/mismatch.py: above the dashed line at 1, a value is outside tolerance). Bit-exact values
(0) have no point on a log axis and leave a gap. The first divergence, if any, is a vertical red
line labelled with its node. Drawn with matplotlib's object API on the Agg canvas (the optional
`plot` extra); paths and the missing-matplotlib error come from tools/plots.py, whose line_chart
has no way to mark one point (this chart could move there as `line_chart(..., marks=...)`).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from .plots import check_plot_path

if TYPE_CHECKING:
    from .first_divergence import Comparison

COLORS = {"max-rel": "C0", "1 - cosine": "C1", "error / tolerance": "C2"}


def divergence_series(c: Comparison) -> tuple[list[int], dict[str, list[float | None]]]:
    """x (execution index of each compared value) and the three series; None where a value is
    0 or not a number (no point on a log axis)."""
    xs = [v.index for v in c.values]
    series: dict[str, list[float | None]] = {name: [] for name in COLORS}
    for v in c.values:
        d = v.diff
        if d.problem:
            cos_dist = math.inf
        else:  # a bit-exact value is at distance 0, not at float64's rounding of 1 - cosine
            cos_dist = 0.0 if d.max_abs == 0 and not d.nonfinite else 1.0 - d.cosine
        for name, y in zip(COLORS, (d.max_rel, cos_dist, d.tol_ratio)):
            series[name].append(_positive(y))
    return xs, series


def plot_comparison(path: str | os.PathLike[str], c: Comparison) -> str:
    """Writes the chart to `path` (.png, .svg or .pdf); returns the path written."""
    out = check_plot_path(path)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs, series = divergence_series(c)
    figure = Figure(figsize=(10.0, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    finite = [y for ys in series.values() for y in ys if y is not None and math.isfinite(y)]
    top = max(finite, default=1.0) * 10
    for name, ys in series.items():
        points = [(x, min(y, top)) for x, y in zip(xs, ys) if y is not None]  # inf at the top
        axes.plot([p[0] for p in points], [p[1] for p in points], linestyle="none", marker=".",
                  markersize=3, label=name, color=COLORS[name])  # fmt: skip
    axes.axhline(1.0, color=COLORS["error / tolerance"], linestyle="--", linewidth=0.8)
    if c.first is not None:
        axes.axvline(c.first.index, color="red", linewidth=1.0)
        axes.annotate(f"first divergence: {c.first.node} ({c.first.op_type})",
                      (c.first.index, 0.98), xycoords=("data", "axes fraction"), color="red",
                      fontsize=8, ha="left", va="top", rotation=0)  # fmt: skip
    if finite:
        axes.set_yscale("log")
    axes.set_xlabel(f"node, in {c.side_b}'s execution order")
    axes.set_ylabel("error (log scale)")
    verdict = "agree" if c.first is None else "diverge"
    axes.set_title(f"{c.side_a} vs {c.side_b}: {len(c.values)} values, {verdict} "
                   f"(rtol {c.rtol:g}, atol {c.atol:g})", fontsize=9)  # fmt: skip
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.savefig(out, dpi=150)
    return str(out)


def _positive(y: float) -> float | None:
    return y if y > 0 else None  # NaN compares False: no point either
