"""Calibration: run the float model on every calibration sample, watch the activations that will be
quantised, and choose each one's range (see ranges.py for the methods).

minmax needs one pass over the data; percentile and kl a second one that fills a histogram per
tensor over the range the first pass found. Nothing but running statistics is kept, so the data
set may be larger than memory would hold as activations.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...refimpl.errors import InputError
from ...refimpl.ir import Graph
from .calibration_data import CalibrationData
from .ranges import METHODS, TensorStats, choose_range
from .runner import OutputTap, Runner, feeds_with_progress, reference_runner

Range = tuple[float, float]


def calibrate(
    graph: Graph,
    data: CalibrationData,
    names: Iterable[str],
    *,
    method: str = "minmax",
    percentile: float = 99.99,
    runner: Runner = reference_runner,
    progress: bool = False,
    batch: int = 8,
    domains: dict[str, Range] | None = None,
) -> tuple[dict[str, Range], dict[str, TensorStats]]:
    """The chosen range of every float tensor in `names` (graph inputs or node outputs), and the
    statistics behind it. `domains` (saturation.live_domains): a tensor's values are clipped to
    its live domain before they count (its readers cannot tell the clipped ones apart)."""
    check_method(method, percentile)
    wanted = set(names)
    stats = {name: TensorStats() for name in wanted}
    run = runner(graph)
    passes = ["minmax"] if method == "minmax" else ["minmax", method]
    for step, kind in enumerate(passes, 1):
        label = "calibrating" if len(passes) == 1 else f"calibrating ({step}/{len(passes)})"

        def sink(name: str, value: np.ndarray, kind: str = kind) -> None:
            if value.dtype.kind != "f":
                return
            values = value.astype(np.float32, copy=False)
            if domains and name in domains:
                values = np.clip(values, *domains[name])
            if kind == "minmax":
                stats[name].add_minmax(values)
            else:
                stats[name].add_histogram(values, kind)

        tap = OutputTap(wanted, sink)
        for feed in feeds_with_progress(data, batch, label, progress):
            for name, value in feed.items():
                if name in wanted:
                    sink(name, value)
            run(feed, [tap])
    ranges = {name: choose_range(s, method, percentile) for name, s in stats.items() if s.count}
    return ranges, stats


def check_method(method: str, percentile: float) -> None:
    if method not in METHODS:
        raise InputError(
            f"calibration method {method!r} is unknown; use one of {', '.join(METHODS)}"
        )
    if not 50.0 < percentile <= 100.0:
        raise InputError(f"percentile must be in (50, 100], got {percentile}")
