"""The deployable output: a whole model as the Vela-compiled .tflite an Ethos-U board runs with
TFLite Micro (NPU work as `ethos-u` custom ops carrying the command stream, the rest as TFLite
builtins for the Cortex-M). `gossamer compile MODEL --backends ethos-u -o m_vela.tflite` reaches
it through the backend's `deploy` method (backend.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..plugins import Graph, infer_shapes
from ..refimpl.errors import InputError
from .config import (
    EthosUConfig,
    EthosUConfigError,
    config_from_env,
    config_from_options,
    named_by_options,
)
from .partition_export import to_tflite
from .vela_runner import VelaError, VelaReport, check_config, run_vela

FEATURE_DTYPES = frozenset({"int8", "uint8", "int16"})  # what an Ethos-U computes on


class FloatModelError(InputError):
    """The model has no integer tensors: Vela would put nothing on the NPU."""


def compile_for_ethos_u(graph: Graph, config: EthosUConfig | None = None) -> VelaReport:
    """Exports `graph` (an int8 graph: imported from TFLite, or quantised and optimised) to
    TFLite and compiles it with Vela for `config` (default: GOSSAMER_ETHOSU_*). The report's
    `model` is the file to flash; its figures are Vela's for the whole model. Raises
    FloatModelError for a graph without int8 tensors, TFLiteExportError for a node TFLite cannot
    express, VelaError if Vela fails."""
    config = config or config_from_env()
    types = infer_shapes(graph)
    if not any(v.dtype in FEATURE_DTYPES for v in types.values()):
        raise FloatModelError(
            f"{graph.name or 'the model'} has no int8 tensors, so an Ethos-U runs none of it: "
            "quantise it first (gossamer quantize MODEL --mode static -o MODEL_int8.onnx)"
        )
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", graph.name or "")[:64].strip("._") or "model"
    try:
        return run_vela(to_tflite(graph, types), config, name=name)  # name: Vela's file names
    except VelaError as err:
        if not err.semantic:
            raise
        tensor, why = next(iter(err.semantic.items()))
        raise VelaError(
            f"Vela refuses the whole model: it rejects the operator producing {tensor!r} ({why}) "
            "instead of leaving it to the CPU, so no deployable file can hold it; a session "
            "(--backends ethos-u) runs such nodes on the CPU and the rest on the NPU",
            err.semantic,
        ) from err


def deploy(graph: Graph, path: str | Path, options: Mapping[str, str] | None = None) -> str:
    """Writes the Vela-compiled model to `path`; returns Vela's summary of it, as lines.
    `options`: accelerator, system_config, memory_mode, clock (GOSSAMER_ETHOSU_* where unset)."""
    report = compile_for_ethos_u(graph, target_config(options or {}))
    Path(path).write_bytes(report.model)
    return summary_text(report, str(path))


def target_config(options: Mapping[str, str]) -> EthosUConfig:
    """The target `options` and GOSSAMER_ETHOSU_* describe, checked against Vela's vela.ini;
    an EthosUConfigError names the option (or the variable) that is wrong."""
    config = config_from_options(options)
    try:
        check_config(config)
    except EthosUConfigError as err:
        raise named_by_options(err, options) from err
    return config


def summary_text(report: VelaReport, path: str) -> str:
    """Vela's network summary of a compiled model, as `gossamer compile` prints it."""
    from ..converter.tflite.reader import read_tflite

    ops = [op.opcode for g in read_tflite(report.model).subgraphs for op in g.operators]
    builtins = sorted({op for op in ops if op != "ethos-u"})
    ms = report.inference_s * 1e3
    lines = [
        f"wrote {path} ({len(report.model):,} bytes, Vela {report.vela_version}, "
        f"{report.config.describe()})",
        f"operators: {report.npu_operators} on the NPU, in {ops.count('ethos-u')} ethos-u custom "
        f"op(s); {report.cpu_operators} on the CPU as TFLite builtins"
        + (f" ({', '.join(builtins)})" if builtins else ""),
        f"SRAM used {report.sram_bytes / 1024:.2f} KiB, flash {report.flash_bytes / 1024:.2f} KiB,"
        f" DRAM {report.dram_bytes / 1024:.2f} KiB",
        f"estimated NPU time {ms:.4f} ms ({report.total_cycles:,} cycles at "
        f"{report.clock_hz / 1e6:g} MHz; the CPU operators are not counted)",
    ]
    by_reason: dict[str, list[str]] = {}
    for tensor, reason in sorted(report.reasons.items()):
        by_reason.setdefault(re.sub(r"\s*\([^()]*\)$", "", reason), []).append(tensor)
    for reason, tensors in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        more = f", ... ({len(tensors)} operators)" if len(tensors) > 3 else ""
        lines.append(f"  on the CPU, {reason}: {', '.join(tensors[:3])}{more}")
    return "\n".join(lines)
