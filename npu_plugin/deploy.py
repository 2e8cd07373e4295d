"""The deployable output: a whole model as the Vela-compiled .tflite an Ethos-U board runs with
TFLite Micro (NPU work as `ethos-u` custom ops carrying the command stream, the rest as TFLite
builtins for the Cortex-M)."""

from __future__ import annotations

from ..plugins import Graph, infer_shapes
from .config import EthosUConfig, config_from_env
from .partition_export import to_tflite
from .vela_runner import VelaReport, run_vela


def compile_for_ethos_u(graph: Graph, config: EthosUConfig | None = None) -> VelaReport:
    """Exports `graph` (an int8 graph: imported from TFLite, or quantised and optimised) to
    TFLite and compiles it with Vela for `config` (default: GOSSAMER_ETHOSU_*). The report's
    `model` is the file to flash; its figures are Vela's for the whole model. Raises
    TFLiteExportError for a node TFLite cannot express, VelaError if Vela fails."""
    config = config or config_from_env()
    return run_vela(to_tflite(graph, infer_shapes(graph)), config, name=graph.name or "model")
