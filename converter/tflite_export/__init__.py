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

from ...refimpl.ir import Graph, QuantParams, Value
from .errors import TFLiteExportError
from .export import export_graph

__all__ = ["TFLiteExportError", "export_partition", "export_tflite", "write_tflite"]


def export_tflite(
    graph: Graph,
    *,
    nhwc_io: bool = False,
    values: dict[str, Value] | None = None,
    quant: dict[str, QuantParams] | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    prepare: bool = True,
    state_as_io: bool = False,
) -> bytes:
    """The TFLite flatbuffer of `graph`: one subgraph, inputs and outputs named and ordered as
    the graph's, with a "serving_default" signature. `nhwc_io`: 4-D inputs and outputs are laid
    out NHWC (an NCHW graph's are transposed at the boundary; default: as the graph has them).
    `values` types values the graph does not (a partition's boundary inputs); `quant` replaces
    `graph.quant` as the annotation of quantised values (the integer ops' own scale and
    zero-point inputs always come first). `input_shapes` fixes the dynamic dims of inputs (ops
    whose TFLite form needs static sizes, such as SAME padding, need them). Kept state
    (`graph.state`) becomes TFLite resource variables (initialised by a CALL_ONCE subgraph), so
    the file streams as the model does; `state_as_io` writes it as plain inputs and outputs
    instead (the caller feeds each run's new state to the next). `prepare` runs the clean-ups first
    (constant folding, batch-norm folding, no-op and dead-node removal); without it every node
    is written as it is and every tensor keeps its value's name (a partition for a compiler that
    reports per tensor). Raises TFLiteExportError (every node it cannot express, with the
    reason)."""
    return export_graph(
        graph,
        nhwc_io=nhwc_io,
        values=values,
        quant=quant,
        input_shapes=input_shapes,
        prepare=prepare,
        state_as_io=state_as_io,
    )


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
