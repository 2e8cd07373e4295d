"""Measuring a quantised graph against its float original on the calibration data.

`paired_runs` runs both graphs on every feed and hands each watched pair of tensors (the float
value, and the quantised graph's value of the same tensor) to a callback; `Agreement` accumulates
cosine similarity and SQNR over all samples without keeping the tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...refimpl.ir import Graph
from .calibration_data import CalibrationData
from .runner import OutputTap, Runner, feeds_with_progress

PairSink = Callable[[str, np.ndarray, np.ndarray], None]


@dataclass
class Agreement:
    """Running sums for cosine(float, quant) and SQNR = 10 log10(|float|^2 / |quant - float|^2)."""

    dot: float = 0.0
    ff: float = 0.0
    qq: float = 0.0
    err: float = 0.0

    def add(self, f: np.ndarray, q: np.ndarray) -> None:
        f64, q64 = f.astype(np.float64).ravel(), q.astype(np.float64).ravel()
        self.dot += float(f64 @ q64)
        self.ff += float(f64 @ f64)
        self.qq += float(q64 @ q64)
        d = q64 - f64
        self.err += float(d @ d)

    @property
    def cosine(self) -> float:
        if self.ff == 0.0 and self.qq == 0.0:
            return 1.0
        if self.ff == 0.0 or self.qq == 0.0:
            return 0.0
        return self.dot / math.sqrt(self.ff * self.qq)

    @property
    def sqnr_db(self) -> float:
        if self.err == 0.0:
            return math.inf
        if self.ff == 0.0:
            return -math.inf
        return 10.0 * math.log10(self.ff / self.err)


def paired_runs(
    float_graph: Graph,
    quant_graph: Graph,
    data: CalibrationData,
    pairs: dict[str, str],
    sink: PairSink,
    *,
    runner: Runner,
    float_sink: Callable[[str, np.ndarray], None] | None = None,
    progress: bool = False,
    label: str = "measuring",
    batch: int = 8,
) -> None:
    """For every feed: runs both graphs, calls sink(float_name, float_value, quant_value) for
    each (float_name -> quant_name) pair; `float_sink` also sees every float value watched."""
    run_float, run_quant = runner(float_graph), runner(quant_graph)
    float_names = set(pairs)
    quant_names = set(pairs.values())
    for feed in feeds_with_progress(data, batch, label, progress):
        got_f: dict[str, np.ndarray] = {k: v for k, v in feed.items() if k in float_names}
        got_q: dict[str, np.ndarray] = {k: v for k, v in feed.items() if k in quant_names}
        outs_f = run_float(feed, [OutputTap(float_names, got_f.__setitem__)])
        outs_q = run_quant(feed, [OutputTap(quant_names, got_q.__setitem__)])
        for v, f in zip(float_graph.outputs, outs_f):
            if v.name in float_names:
                got_f[v.name] = f
        for v, q in zip(quant_graph.outputs, outs_q):
            if v.name in quant_names:
                got_q[v.name] = q
        for f_name, q_name in pairs.items():
            if f_name in got_f and q_name in got_q:
                if float_sink is not None:
                    float_sink(f_name, got_f[f_name])
                sink(f_name, got_f[f_name], got_q[q_name])


def float_outputs(
    float_graph: Graph, data: CalibrationData, *, runner: Runner, batch: int = 8
) -> list[list[Any]]:
    """The float graph's outputs for every feed of `data` (in `data.feeds(batch)` order), so
    that candidates of one search are compared with one float run."""
    run = runner(float_graph)
    return [run(feed, []) for feed, _ in data.feeds(batch)]


def output_agreement(
    float_graph: Graph,
    quant_graph: Graph,
    data: CalibrationData,
    *,
    runner: Runner,
    reference: list[list[Any]] | None = None,
    batch: int = 8,
) -> dict[str, Agreement]:
    """Cosine and SQNR of every float graph output, quantised vs float, over all samples;
    `reference`: float_outputs(float_graph, data, batch=batch), not recomputed."""
    result = {v.name: Agreement() for v in float_graph.outputs}
    if reference is not None:
        run = runner(quant_graph)
        names = [v.name for v in float_graph.outputs]
        for (feed, _), outs_f in zip(data.feeds(batch), reference):
            for name, f, q in zip(names, outs_f, run(feed, [])):
                if isinstance(f, np.ndarray) and f.dtype.kind == "f":
                    result[name].add(f, q)
        return {k: v for k, v in result.items() if v.ff or v.qq}
    pairs = {v.name: v.name for v in float_graph.outputs}

    def sink(name: str, f: np.ndarray, q: np.ndarray) -> None:
        if f.dtype.kind == "f":
            result[name].add(f, q)

    paired_runs(float_graph, quant_graph, data, pairs, sink, runner=runner)
    return {k: v for k, v in result.items() if v.ff or v.qq}


def worst_cosine(agreements: dict[str, Agreement]) -> float:
    return min((a.cosine for a in agreements.values()), default=1.0)
