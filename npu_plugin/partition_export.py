"""A graph (or a partition of one) as the int8 .tflite model Vela compiles.

The export itself is converter/tflite_export's `export_tflite`; this module adapts the call: a
partition's boundary values are typed from the whole graph (a partition alone does not know the
dtype and shape of what it reads; its quantisation travels in `Graph.quant`). The exporter keeps
each value's name on its tensor, so Vela's verdicts, named by output tensor, map back to nodes.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..plugins import Graph, Value


class ExportUnavailable(RuntimeError):
    """Gossamer's TFLite exporter is not there (or not importable) in this install."""


def exporter() -> Any:
    try:
        module = importlib.import_module("gossamer.converter.tflite_export")
        return module.export_tflite
    except (ImportError, AttributeError) as err:
        raise ExportUnavailable(f"TFLite export is not available: {err}") from err


def to_tflite(graph: Graph, values: dict[str, Value] | None = None) -> bytes:
    """The .tflite bytes of `graph`; `values` types its inputs where the graph does not."""
    return bytes(exporter()(graph, values=dict(values or {})))


def refused_nodes(err: BaseException) -> dict[str, str]:
    """node -> why, from an export error that lists the nodes it could not express."""
    out: dict[str, str] = {}
    for item in getattr(err, "unsupported", None) or []:
        if isinstance(item, dict) and item.get("node") and item.get("op_type"):
            out[str(item["node"])] = str(item.get("reason", "not expressible"))
    return out
