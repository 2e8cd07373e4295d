"""`gossamer.quantize`: post-training quantisation of a model file (or Graph), the Python face of
`gossamer quantize`.

    result = gossamer.quantize("model.onnx", "model.int8.onnx", mode="static",
                               calibration="calib.npz", method="kl", per_channel=True)
    print(result.report.format())

Modes: "static" (int8 QDQ or QOperator, calibrated; converter/quantization/static.py),
"dynamic" (int8 MatMul/Gemm weights, activations quantised at run time), "weight" (weight-only,
1..16 bits, for size) and "fp16" (float16 weights). Calibration runs the float model on the
fastest available backends (`backends`, as load() takes them), node by node.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .refimpl.errors import InputError, PerformanceWarning
from .refimpl.ir import Graph
from .session import ModelSource, Session, read_model

if TYPE_CHECKING:  # the quantiser itself is imported on first use: `import gossamer` stays light
    from .converter.quantization.runner import RunFeed, Runner

MODES = ("static", "dynamic", "weight", "fp16")


@dataclass
class QuantizeResult:
    graph: Graph
    report: Any  # QuantReport (static, dynamic), WeightReport (weight), Fp16Report (fp16)


def quantize(
    model: ModelSource,
    output: str | os.PathLike | None = None,
    *,
    mode: str = "static",
    calibration: Any = None,
    method: str = "minmax",
    percentile: float = 99.99,
    per_channel: bool | None = None,
    activation_type: str = "uint8",
    reduce_range: bool = False,
    bias_correction: bool = True,
    equalize: bool = True,
    skip: Sequence[str] = (),
    target_cosine: float | None = None,
    sixteen_bit: bool = True,
    auto_precision: bool = True,
    format: str = "qdq",
    bits: int = 8,
    group_size: int = 0,
    symmetric: bool = True,
    keep_io_types: bool = True,
    fp16_activations: bool = False,
    backends: Sequence[str] | None = None,
    progress: bool = False,
) -> QuantizeResult:
    """Quantises `model` (a path, bytes, ModelProto or Graph) and writes it to `output` (.onnx or
    .gsm by extension) when given. Weights are quantised per output channel unless `per_channel`
    is False (per tensor, onnxruntime's default; per channel is TFLite's, and far more accurate
    on models with depthwise convolutions). See docs/quantization.md."""
    if mode not in MODES:
        raise InputError(f"quantisation mode {mode!r} is unknown; use one of {', '.join(MODES)}")
    if output is not None and Path(output).suffix.lower() not in (".onnx", ".gsm"):
        raise InputError(f"output {output}: the extension names the format; use .onnx or .gsm")
    graph = read_model(model)
    runner = session_runner(backends)
    if mode == "static":
        if calibration is None:
            raise InputError(
                "static quantisation needs calibration data (an .npz with one array per model "
                "input, first axis = samples); or choose mode dynamic, weight or fp16"
            )
        from .converter.quantization.static import quantize_static

        graph, report = quantize_static(
            graph,
            calibration,
            runner=runner,
            progress=progress,
            method=method,
            percentile=percentile,
            per_channel=per_channel is not False,
            activation_type=activation_type,
            reduce_range=reduce_range,
            bias_correction=bias_correction,
            equalize=equalize,
            skip=tuple(skip),
            target_cosine=target_cosine,
            sixteen_bit=sixteen_bit,
            auto_precision=auto_precision,
            format=format,
        )
    elif mode == "dynamic":
        from .converter.quantization.dynamic import quantize_dynamic

        graph, report = quantize_dynamic(
            graph,
            per_channel=per_channel is not False,
            reduce_range=reduce_range,
            skip=tuple(skip),
            calibration=calibration,
            runner=runner,
            progress=progress,
        )
    elif mode == "weight":
        from .converter.quantization.weight_only import quantize_weights

        graph, report = quantize_weights(
            graph,
            bits=bits,
            group_size=group_size,
            per_channel=True if per_channel is None else per_channel,
            symmetric=symmetric,
        )
    else:
        graph, report = _fp16(graph, keep_io_types, fp16_activations)
    if output is not None:
        save_model(graph, output)
    return QuantizeResult(graph, report)


def save_model(graph: Graph, output: str | os.PathLike) -> None:
    """Writes `graph` as ONNX (checked with onnx.checker) or .gsm, by the extension."""
    if Path(output).suffix.lower() == ".onnx":
        from .converter.onnx_export import save_onnx

        save_onnx(graph, output)
    else:
        from .refimpl.model_format import save_gsm

        save_gsm(graph, output)


def _fp16(graph: Graph, keep_io_types: bool, activations: bool) -> tuple[Graph, Any]:
    try:
        from .converter.quantization.fp16 import quantize_fp16_report
    except ImportError:
        raise InputError("--mode fp16 is not available in this build (no fp16 converter)") from None
    return quantize_fp16_report(graph, keep_io_types=keep_io_types, activations=activations)


def session_runner(backends: Sequence[str] | None = None) -> Runner:
    """A Runner on the fastest available backends (the reference where a backend would fuse
    nodes into partitions, whose inner values an observer cannot see)."""

    from .converter.quantization.runner import reference_runner

    def make(graph: Graph) -> RunFeed:
        with warnings.catch_warnings():  # a QDQ graph mostly on the reference is expected here
            warnings.simplefilter("ignore", PerformanceWarning)
            sess = Session(graph, backends=backends)
        if sess.fused_partitions:
            return reference_runner(graph)

        def run(feeds: dict, observers: Sequence[Any] = ()) -> list[Any]:
            return sess.run(None, feeds, observers=observers)

        return run

    return make
