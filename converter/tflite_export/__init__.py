"""TFLite export: a Gossamer Graph -> a TFLite flatbuffer (schema version 3) that LiteRT, TFLite
Micro and Arm's Vela read.

    from gossamer.converter.tflite_export import export_tflite, write_tflite
    data = export_tflite(graph)                 # bytes
    write_tflite(graph, "model.tflite")
    data = export_partition(whole, partition)   # a partition cut by plugins.partition

What is exported (docs/tflite-export.md): `tflite::*` integer ops (the TFLite importer's, and
what ONNX int8 graphs become) one for one, bit-exact; ONNX data movement on any dtype; ONNX float
ops (NCHW) as TFLite's NHWC builtins, with TRANSPOSEs only where a layout must change. A node that
TFLite cannot express raises TFLiteExportError naming every such node, op and reason.
"""

from __future__ import annotations

import os
from typing import Any

from ...refimpl.ir import Graph
from .errors import TFLiteExportError
from .export import export_graph

__all__ = ["TFLiteExportError", "export_partition", "export_tflite", "write_tflite"]


export_tflite = export_graph  # the public name (the function lives in export.py)


def export_partition(whole: Graph, partition: Graph) -> bytes:
    """A partition (plugins.partition.extract_partition) as a TFLite subgraph: its boundary
    values become the model's inputs and outputs, typed and quantised as in `whole`."""
    from ...refimpl.shape_inference import infer_shapes

    values = {k: v for k, v in infer_shapes(whole).items() if v.dtype and v.shape is not None}
    quant = {**whole.quant, **partition.quant}
    return export_graph(partition, values=values, quant=quant, prepare=False)


def write_tflite(graph: Graph, path: str | os.PathLike, **options: Any) -> int:
    """Writes export_tflite(graph, **options) to `path`; the number of bytes written."""
    data = export_tflite(graph, **options)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)
