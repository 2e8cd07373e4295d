"""Measuring a written static plan layer by layer: every quantised node's output range,
clipped share, cosine and SQNR against float on the calibration data, and the model outputs'
(the per-layer report's rows; static.py calls it on the plan it writes)."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph
from .calibration_data import CalibrationData
from .evaluate import Agreement, paired_runs
from .layer_report import LayerStats, QuantReport
from .plan import QuantPlan
from .qdq_writer import QdqResult
from .qparams import code_type
from .runner import Runner


def measure_layers(
    report: QuantReport,
    float_graph: Graph,
    plan: QuantPlan,
    qdq: QdqResult,
    data: CalibrationData,
    act_dtype: str,
    *,
    runner: Runner,
    progress: bool = False,
    batch: int = 8,
) -> None:
    """Fills the report's layers (output range, clipped %, cosine, SQNR) and model outputs."""
    by_name = {n.name: n for n in plan.graph.nodes}
    pairs: dict[str, str] = {}
    rows: dict[str, LayerStats] = {}
    for node_name in plan.nodes:
        node = by_name[node_name]
        out = node.outputs[0]
        p = qdq.params.get(out)
        # bits of the output's codes; of the weights and inputs where the output stays float
        bits = p.bits if p is not None else 16 if node_name in plan.wide else 8
        row = LayerStats(node_name, node.op_type, bits, out)
        if p is not None:
            scale, zero = float(p.scale), float(p.zero_point)
            info = np.iinfo(code_type(p))
            row.low, row.high = (info.min - zero) * scale, (info.max - zero) * scale
        rows[out] = row
        pairs[out] = qdq.dequantized.get(out, out)
    outputs = {v.name: Agreement() for v in float_graph.outputs}
    for v in float_graph.outputs:
        pairs.setdefault(v.name, v.name)
    agree = {name: Agreement() for name in pairs}
    clipped = {name: [0, 0] for name in rows}

    def count_clipped(name: str, f: np.ndarray) -> None:
        row = rows.get(name)
        if row is not None and row.low is not None and f.dtype.kind == "f":
            half = 0.5 * float(qdq.params[name].scale)  # within half a step rounds, not clips
            outside = (f < row.low - half) | (f > row.high + half)  # type: ignore[operator]
            clipped[name][0] += int(np.count_nonzero(outside))
            clipped[name][1] += f.size

    def sink(name: str, f: np.ndarray, q: np.ndarray) -> None:
        if f.dtype.kind == "f" and f.shape == q.shape:
            agree[name].add(f, q)

    paired_runs(
        float_graph,
        qdq.graph,
        data,
        pairs,
        sink,
        runner=runner,
        progress=progress,
        float_sink=count_clipped,
        label="measuring layers",
        batch=batch,
    )
    for name, row in rows.items():
        a = agree[name]
        row.cosine, row.sqnr_db = a.cosine, a.sqnr_db
        if clipped[name][1]:
            row.clipped_pct = 100.0 * clipped[name][0] / clipped[name][1]
        report.layers.append(row)
    for name in outputs:
        a = agree[name]
        if a.ff or a.qq:
            report.outputs[name] = {"cosine": a.cosine, "sqnr_db": a.sqnr_db}
