"""Static int8 post-training quantisation: calibrate the float model, write a QDQ graph.

    graph, report = quantize_static(graph, "calib.npz", method="kl", per_channel=True)

Steps: fold the float graph (prepare.py), decide what to quantise (plan.py), run the calibration
data through the float model and choose each activation's range (calibrate.py), write
QuantizeLinear/DequantizeLinear pairs, int8 weights and int32 biases (qdq_writer.py); then,
on request, correct the biases (bias_correction.py) and give the most sensitive layers 16-bit
codes, then keep them float, until the output cosine reaches a target (sensitivity.py); last,
measure every layer against float (layer_measure.py: the report). `format="qoperator"`
rewrites the QDQ graph into QLinear* operators.

Ranges are chosen on the values each tensor's readers can tell apart (saturation.py: a HardSwish
input is clipped at -3, below which it outputs 0). By default (`auto_precision`), a model whose
int8 output cosine to float on the calibration data stays below AUTO_BELOW is one that int8 alone
cannot serve (ppocrv4_rec: even 10-bit weights with float activations, or 10-bit activations with
float weights, change its CTC decoding on more than 5 % of text lines): its first layers (whose
error the rest amplify) then get 16-bit codes until the cosine reaches AUTO_TARGET, and the
report names them. Models that int8 serves are left as they are.
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
from .evaluate import float_outputs, output_agreement, worst_cosine
from .layer_measure import measure_layers
from .layer_report import QuantReport
from .plan import QuantPlan, plan_static
from .prepare import prepare_float_graph
from .qdq_writer import QdqResult, activation_ranges, write_qdq
from .qparams import ACTIVATION_TYPES
from .runner import Runner, reference_runner
from .saturation import live_domains

FORMATS = ("qdq", "qoperator")
AUTO_BELOW = 0.99  # int8 output cosine (calibration data) under which auto_precision acts
AUTO_TARGET = 0.9995  # the cosine it then raises layers to 16 bits for
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
    auto_precision: bool = True  # 16-bit layers where int8 alone is far off (AUTO_BELOW)
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
    domains = live_domains(
        float_graph, [*(v.name for v in float_graph.inputs), *float_graph.produced_names()]
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
        domains=domains,
    )
    kept: dict[str, str] = {s: "--skip" for s in opts.skip}
    common = {"runner": runner, "progress": progress, "batch": opts.batch}
    target, why = opts.target_cosine, f"--target-cosine {opts.target_cosine}"
    if target is None:
        qdq = _write(float_graph, plan, ranges, data, opts, common)
        report = _measured(float_graph, plan, qdq, data, opts, common, kept, {}, notes)
        int8_cosine = min((o["cosine"] for o in report.outputs.values()), default=1.0)
        if not opts.auto_precision or int8_cosine >= AUTO_BELOW:
            return _finish(report, float_graph, qdq, opts)
        # the report's output cosine is the calibration data's: no further run decides this
        target, why = AUTO_TARGET, f"auto precision (int8 output cosine {int8_cosine:.4f})"
        notes.append(
            f"auto precision: the all-int8 model's output cosine to float on the calibration "
            f"data is {int8_cosine:.5f} (< {AUTO_BELOW}); its first layers get 16-bit codes "
            f"until it reaches {AUTO_TARGET} (auto_precision=False keeps all int8)"
        )
    plan, extra, sixteen = _reach_target(
        float_graph,
        types,
        plan,
        ranges,
        data,
        opts,
        common,
        target,
        why,
        domains,
        earliest_first=opts.target_cosine is None,
    )
    kept.update(extra)
    qdq = _write(float_graph, plan, ranges, data, opts, common)
    report = _measured(float_graph, plan, qdq, data, opts, common, kept, sixteen, notes)
    return _finish(report, float_graph, qdq, opts)


def _measured(
    float_graph: Graph,
    plan: QuantPlan,
    qdq: QdqResult,
    data: CalibrationData,
    opts: StaticOptions,
    common: dict,
    kept: dict[str, str],
    sixteen: dict[str, str],
    notes: list[str],
) -> QuantReport:
    """The report of a written plan, every layer measured against float."""
    report = QuantReport("static", settings=_settings(opts))
    report.kept_float = dict(kept)
    report.sixteen_bit = sixteen
    report.notes += notes
    measure_layers(report, float_graph, plan, qdq, data, opts.activation_type, **common)
    return report


def _finish(
    report: QuantReport, float_graph: Graph, qdq: QdqResult, opts: StaticOptions
) -> tuple[Graph, QuantReport]:
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
    shifts: dict[str, np.ndarray] | None = None,
) -> QdqResult:
    """The QDQ graph of a plan, its biases corrected when the options ask for it: by `shifts`
    where given (those of the plan's 8-bit layers are used), else measured."""
    params = activation_ranges(plan, ranges, opts.activation_type)
    if not opts.bias_correction:
        return write_qdq(plan, params, opts.activation_type)
    if shifts is not None:
        wide = plan.wide | {add for add, (_, mm) in plan.matmul_bias.items() if mm in plan.wide}
        kept = {n: s for n, s in shifts.items() if n not in wide}
        return write_qdq(plan, params, opts.activation_type, bias_shift=kept)
    from .bias_correction import bias_shifts

    qdq = write_qdq(plan, params, opts.activation_type)
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
    target: float,
    why: str,
    domains: dict[str, tuple[float, float]],
    earliest_first: bool = False,
) -> tuple[QuantPlan, dict[str, str], dict[str, str]]:
    """The plan whose output cosine to float (on the calibration data) reaches the target:
    the most sensitive layers 16-bit first (fewest that reach it), and where even every layer
    at 16 bits does not, the most sensitive float (the rest 16-bit). Also returns the nodes
    kept float and the 16-bit ones, each with why. `earliest_first` ranks the layers by their
    place in the graph instead (auto precision: where int8 is far off, the error every layer
    adds is amplified by the layers after it, so the first layers matter most: on ppocrv4_rec
    its first 12 quantised nodes at 16 bits give an output cosine of 0.9970 on the calibration
    data without bias correction, the 16 with the lowest SQNR of their own 0.9939 with it)."""
    from .sensitivity import choose_precision, layer_sensitivity

    if earliest_first:
        ranking = list(plan.nodes)
        reasons = {
            n: f"{why}: quantised node {i + 1} of {len(ranking)}" for i, n in enumerate(ranking)
        }
    else:
        params = activation_ranges(plan, ranges, opts.activation_type)
        first = write_qdq(plan, params, opts.activation_type)
        sensitivity = layer_sensitivity(
            float_graph, plan, params, first.weights, opts.activation_type, data, **common
        )
        ranking = sorted(sensitivity, key=lambda n: sensitivity[n])
        reasons = {n: f"{why}: layer SQNR {sensitivity[n]:.1f} dB at 8 bits" for n in ranking}
    # auto precision scores candidates with the bias shifts of the all-8-bit plan (a layer's
    # shift is its own error on float inputs, which other layers' precision barely moves) rather
    # than a calibration pass each; the chosen plan's are measured
    shifts = None
    if earliest_first and opts.bias_correction:
        from .bias_correction import bias_shifts

        first_qdq = write_qdq(
            plan, activation_ranges(plan, ranges, opts.activation_type), opts.activation_type
        )
        shifts = bias_shifts(float_graph, plan, first_qdq, data, opts.activation_type, **common)
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
                domains=domains,
            )
            ranges.update(more)
        g = _write(
            float_graph, candidate, ranges, data, opts, {**common, "progress": False}, shifts
        ).graph
        agree = output_agreement(
            float_graph, g, data, runner=common["runner"], reference=reference, batch=opts.batch
        )
        score = worst_cosine(agree)
        logger.info("target cosine: %d 16-bit, %d float: %.5f", len(wide), len(kept), score)
        plans[key] = (candidate, score)
        return score

    wide, kept = choose_precision(ranking, target, cosine, sixteen_bit=opts.sixteen_bit)
    chosen = plans[(tuple(wide), tuple(kept))][0] if wide or kept else plan
    sixteen = {n: reasons[n] for n in ranking if n in chosen.wide}
    floats = {n: reasons[n] for n in kept}
    return chosen, floats, sixteen


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
    else:
        out["auto_precision"] = opts.auto_precision
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
