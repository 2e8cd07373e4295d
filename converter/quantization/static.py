"""Static int8 post-training quantisation: calibrate the float model, write a QDQ graph.

    graph, report = quantize_static(graph, "calib.npz", method="kl", per_channel=True)

Steps: fold the float graph (prepare.py), decide what to quantise (plan.py), run the calibration
data through the float model and choose each activation's range (calibrate.py), write
QuantizeLinear/DequantizeLinear pairs, int8 weights and int32 biases (qdq_writer.py); then,
on request, correct the biases (bias_correction.py) and give the most sensitive layers 16-bit
codes, then keep them float, until the output cosine reaches a target (sensitivity.py); last,
measure every layer against float (the report). `format="qoperator"` rewrites the QDQ graph
into QLinear* operators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ...refimpl.errors import InputError
from ...refimpl.ir import Graph
from ...refimpl.shape_inference import infer_shapes
from .calibrate import calibrate, check_method
from .calibration_data import CalibrationData, CalibrationSource, load_calibration
from .evaluate import Agreement, float_outputs, output_agreement, paired_runs, worst_cosine
from .layer_report import LayerStats, QuantReport
from .plan import QuantPlan, plan_static
from .prepare import prepare_float_graph
from .qdq_writer import QdqResult, activation_ranges, write_qdq
from .qparams import ACTIVATION_TYPES, code_type
from .runner import Runner, reference_runner

FORMATS = ("qdq", "qoperator")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaticOptions:
    method: str = "minmax"
    percentile: float = 99.99
    per_channel: bool = True  # TFLite's default; per tensor is onnxruntime's
    activation_type: str = "uint8"
    reduce_range: bool = False
    bias_correction: bool = True  # MindSpore Lite's default; more accurate on every model measured
    equalize: bool = True  # channel equalisation before calibration (equalize.py)
    skip: tuple[str, ...] = ()
    target_cosine: float | None = None
    sixteen_bit: bool = True  # --target-cosine tries 16-bit layers before float ones
    format: str = "qdq"
    batch: int = 8

    @property
    def weight_bits(self) -> int:
        return 7 if self.reduce_range else 8

    def check(self) -> None:
        check_method(self.method, self.percentile)
        if self.activation_type not in ACTIVATION_TYPES:
            raise InputError(
                f"activation type {self.activation_type!r}: use {' or '.join(ACTIVATION_TYPES)}"
            )
        if self.format not in FORMATS:
            raise InputError(f"format {self.format!r}: use {' or '.join(FORMATS)}")
        if self.target_cosine is not None and not 0.0 < self.target_cosine <= 1.0:
            raise InputError(f"target cosine must be in (0, 1], got {self.target_cosine}")


def quantize_static(
    graph: Graph,
    calibration: CalibrationSource | CalibrationData,
    *,
    runner: Runner = reference_runner,
    progress: bool = False,
    **options: object,
) -> tuple[Graph, QuantReport]:
    """The int8 QDQ (or QOperator) graph of a float `graph`, and its per-layer report.

    `calibration`: an .npz path, a mapping input name -> samples, or CalibrationData. Options
    are StaticOptions' fields: method ("minmax", "percentile", "kl"), percentile, per_channel,
    activation_type ("uint8" or "int8"), bias_correction, skip (node names kept float),
    target_cosine, format ("qdq", "qoperator"), batch (samples per calibration run)."""
    try:
        opts = StaticOptions(**options)  # type: ignore[arg-type]
    except TypeError as err:
        raise InputError(f"quantize_static: {err}") from None
    opts.check()
    float_graph = prepare_float_graph(graph)
    inputs = [v for v in float_graph.inputs if v.name not in float_graph.initializers]
    data = (
        calibration
        if isinstance(calibration, CalibrationData)
        else load_calibration(calibration, inputs)
    )
    known = {n.name for n in float_graph.nodes} | {n.name for n in graph.nodes}
    unknown = [s for s in opts.skip if s not in known]
    if unknown:
        raise InputError(f"--skip names no node of the model: {unknown}")
    notes: list[str] = []
    if opts.equalize:
        from .equalize import equalize_channels

        notes = equalize_channels(
            float_graph, data, runner=runner, skip=set(opts.skip), batch=opts.batch
        )
    types = infer_shapes(float_graph)
    plan = plan_static(
        float_graph,
        types,
        skip=set(opts.skip),
        per_channel=opts.per_channel,
        weight_bits=opts.weight_bits,
    )
    ranges, _ = calibrate(
        float_graph,
        data,
        _watched(plan),
        method=opts.method,
        percentile=opts.percentile,
        runner=runner,
        progress=progress,
        batch=opts.batch,
    )
    kept: dict[str, str] = {s: "--skip" for s in opts.skip}
    common = {"runner": runner, "progress": progress, "batch": opts.batch}
    sixteen: dict[str, str] = {}
    if opts.target_cosine is not None:
        plan, extra, sixteen = _reach_target(float_graph, types, plan, ranges, data, opts, common)
        kept.update(extra)
    qdq = _write(float_graph, plan, ranges, data, opts, common)
    report = QuantReport("static", settings=_settings(opts))
    report.kept_float = kept
    report.sixteen_bit = sixteen
    report.notes += notes
    measure_layers(report, float_graph, plan, qdq, data, opts.activation_type, **common)  # type: ignore[arg-type]
    result = qdq.graph
    report.sizes = {"float": _weight_bytes(float_graph), "quantized": _weight_bytes(result)}
    if opts.format == "qoperator":
        result = _to_qoperator(result)
    return result, report


def _write(
    float_graph: Graph,
    plan: QuantPlan,
    ranges: dict[str, tuple[float, float]],
    data: CalibrationData,
    opts: StaticOptions,
    common: dict,
) -> QdqResult:
    """The QDQ graph of a plan, its biases corrected when the options ask for it."""
    qdq = write_qdq(
        plan, activation_ranges(plan, ranges, opts.activation_type), opts.activation_type
    )
    if not opts.bias_correction:
        return qdq
    from .bias_correction import bias_shifts

    shifts = bias_shifts(float_graph, plan, qdq, data, opts.activation_type, **common)
    return write_qdq(plan, qdq.params, opts.activation_type, bias_shift=shifts)


def _watched(plan: QuantPlan) -> list[str]:
    names = []
    for name in plan.activations:
        names.append(name)
        while name in plan.shared:
            name = plan.shared[name]
            names.append(name)
    return list(dict.fromkeys(names))


def _reach_target(
    float_graph: Graph,
    types: dict,
    plan: QuantPlan,
    ranges: dict[str, tuple[float, float]],
    data: CalibrationData,
    opts: StaticOptions,
    common: dict,
) -> tuple[QuantPlan, dict[str, str], dict[str, str]]:
    """The plan whose output cosine to float (on the calibration data) reaches the target:
    the most sensitive layers 16-bit first (fewest that reach it), and where even every layer
    at 16 bits does not, the most sensitive float (the rest 16-bit). Also returns the nodes
    kept float and the 16-bit ones, each with why."""
    from .sensitivity import choose_precision, layer_sensitivity

    params = activation_ranges(plan, ranges, opts.activation_type)
    first = write_qdq(plan, params, opts.activation_type)
    sensitivity = layer_sensitivity(
        float_graph, plan, params, first.weights, opts.activation_type, data, **common
    )
    ranking = sorted(sensitivity, key=lambda n: sensitivity[n])
    target = opts.target_cosine or 1.0
    plans: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[QuantPlan, float]] = {}
    reference = float_outputs(float_graph, data, runner=common["runner"], batch=opts.batch)

    def cosine(wide: list[str], kept: list[str]) -> float:
        key = (tuple(wide), tuple(kept))
        if key in plans:
            return plans[key][1]
        candidate = plan_static(
            float_graph,
            types,
            skip=set(opts.skip) | set(kept),
            per_channel=opts.per_channel,
            weight_bits=opts.weight_bits,
            wide=set(wide) - set(kept),
        )
        missing = [n for n in _watched(candidate) if n not in ranges]
        if missing:
            more, _ = calibrate(
                float_graph,
                data,
                missing,
                method=opts.method,
                percentile=opts.percentile,
                runner=common["runner"],
            )
            ranges.update(more)
        g = _write(float_graph, candidate, ranges, data, opts, {**common, "progress": False}).graph
        agree = output_agreement(
            float_graph, g, data, runner=common["runner"], reference=reference, batch=opts.batch
        )
        score = worst_cosine(agree)
        logger.info("target cosine: %d 16-bit, %d float: %.5f", len(wide), len(kept), score)
        plans[key] = (candidate, score)
        return score

    wide, kept = choose_precision(ranking, target, cosine, sixteen_bit=opts.sixteen_bit)
    chosen = plans[(tuple(wide), tuple(kept))][0] if wide or kept else plan
    sixteen = {
        n: f"--target-cosine {opts.target_cosine}: layer SQNR {sensitivity[n]:.1f} dB at 8 bits"
        for n in ranking
        if n in chosen.wide
    }
    floats = {
        n: f"--target-cosine {opts.target_cosine}: layer SQNR {sensitivity[n]:.1f} dB at 8 bits"
        for n in kept
    }
    return chosen, floats, sixteen


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


def _settings(opts: StaticOptions) -> dict[str, object]:
    out: dict[str, object] = {"method": opts.method}
    if opts.method == "percentile":
        out["percentile"] = opts.percentile
    out.update(
        per_channel=opts.per_channel,
        activations=opts.activation_type,
        weights=f"int8 ({opts.weight_bits}-bit range)" if opts.reduce_range else "int8",
        bias_correction=opts.bias_correction,
        equalize=opts.equalize,
        format=opts.format,
    )
    if opts.target_cosine is not None:
        out["target_cosine"] = opts.target_cosine
        out["sixteen_bit"] = opts.sixteen_bit
    return out


def _weight_bytes(graph: Graph) -> int:
    return int(sum(a.nbytes for a in graph.initializers.values()))


def _to_qoperator(graph: Graph) -> Graph:
    try:
        from ..optimizer.qdq_to_qoperator import qdq_to_qoperator  # type: ignore[import-not-found]
    except ImportError:
        raise InputError(
            "--format qoperator needs the QDQ -> QOperator pass "
            "(converter/optimizer/qdq_to_qoperator.py), which this build lacks; use --format qdq"
        ) from None
    return qdq_to_qoperator(graph)
