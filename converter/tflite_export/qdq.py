"""ONNX int8 graphs (QDQ, as `gossamer quantize --mode static` and onnxruntime's quantizer write
them, or QOperator) -> the integer ops the exporter writes as TFLite int8 builtins.

1. QDQ patterns (DQ -> Conv -> Q, ...) become QLinearConv / QLinearMatMul / com.microsoft
   QLinear* ops: converter/optimizer/qdq_to_qoperator.py, the optimiser's own pass.
2. uint8 becomes int8: TFLite's int8 kernels take int8 activations (its uint8 ones take uint8
   weights, per tensor, and no int8 weights), so every uint8 constant the integer ops read (zero
   points, quantised data) is shifted by -128. `(q - zero_point) * scale` does not change, so
   the graph computes the same real numbers; QuantizeLinear then writes int8 (its output type is
   its zero point's) and every integer result is the uint8 one minus 128, exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams
from .errors import TFLiteExportError
from .quant_info import explicit_params

QDQ = ("QuantizeLinear", "DequantizeLinear")


def is_quantized_onnx(graph: Graph) -> bool:
    return any(n.op_type in QDQ or n.op_type.startswith("QLinear") for n in graph.nodes)


def integer_graph(graph: Graph) -> Graph:
    """`graph` with its QDQ patterns as integer ops and its 8-bit activations int8."""
    if any(n.op_type in QDQ and n.domain in ("", "ai.onnx") for n in graph.nodes):
        from ..optimizer.qdq_to_qoperator import qdq_to_qoperator

        graph = qdq_to_qoperator(graph)
    return to_int8(graph)


def to_int8(graph: Graph) -> Graph:
    """Every uint8 initializer shifted to int8 (x - 128), Graph.quant's zero points with it; a
    uint8 graph input or output (a partition's boundary) keeps its type through a
    tflite::Requantize (QUANTIZE: equal scales, zero points 128 apart: exact)."""
    inits = dict(graph.initializers)
    shifted = set()
    for name, value in graph.initializers.items():
        value = np.asarray(value)
        if value.dtype == np.uint8:
            inits[name] = (value.astype(np.int16) - 128).astype(np.int8)
            shifted.add(name)
    if not shifted:
        return graph
    # activations' annotations described the uint8 codes: the integer ops' own (shifted) params
    # and propagation through data movement take their place
    quant = {}
    for name, q in graph.quant.items():
        if name in graph.initializers:
            zp = np.asarray(q.zero_point) - (128 if name in shifted else 0)
            quant[name] = QuantParams(q.scale, zp, q.axis, q.block_size, q.bits)
    nodes = [Node(n.op_type, list(n.inputs), list(n.outputs), n.attrs, n.name, n.domain)
             for n in graph.nodes]  # fmt: skip
    result = replace(graph, initializers=inits, quant=quant, nodes=nodes, opsets=dict(graph.opsets))
    _uint8_boundary(graph, result)
    return result


def _uint8_boundary(original: Graph, graph: Graph) -> None:
    """Requantize nodes between uint8 graph inputs / outputs and the int8 graph inside."""
    params: dict[str, tuple[str, str]] = {}
    for node in original.nodes:
        for value, found in explicit_params(original, node).items():
            params.setdefault(value, found)
    wide = [
        v.name for v in graph.inputs + graph.outputs
        if v.dtype == "uint8" and v.name not in graph.initializers
    ]  # fmt: skip
    inputs = {v.name for v in graph.inputs}
    for name in wide:
        q = original.quant.get(name)
        if name in params and params[name][0] in original.initializers:
            scale, zp = params[name]
            zp8 = np.asarray(original.initializers[zp]) if zp else np.array(0, np.uint8)
        elif q is not None and np.size(q.scale) == 1:  # the annotation (data movement reads it)
            scale = _fresh(graph, f"{name}/scale", np.asarray(q.scale, np.float32).reshape(()))
            zp8 = np.asarray(q.zero_point).reshape(())
        else:
            raise TFLiteExportError(
                f"uint8 {name!r}: neither an integer op nor Graph.quant gives its scale and zero "
                "point, so it cannot be carried to int8; quantise with activation_type int8"
            )
        u8 = _fresh(graph, f"{name}/zero_point_uint8", zp8.astype(np.uint8))
        i8 = _fresh(graph, f"{name}/zero_point_int8", (zp8.astype(np.int16) - 128).astype(np.int8))
        inner = f"{name}/int8"
        for node in graph.nodes:
            node.inputs[:] = [inner if i == name else i for i in node.inputs]
            if name not in inputs:
                node.outputs[:] = [inner if o == name else o for o in node.outputs]
        if name in inputs:
            node = Node("Requantize", [name, scale, u8, scale, i8], [inner], {"to": "int8"})
        else:
            node = Node("Requantize", [inner, scale, i8, scale, u8], [name], {"to": "uint8"})
        node.domain, node.name = "tflite", f"{name}/to_{node.attrs['to']}"
        graph.nodes.append(node)
        graph.opsets.setdefault("tflite", 1)


def _fresh(graph: Graph, name: str, value: np.ndarray) -> str:
    while name in graph.initializers:
        name += "_"
    graph.initializers[name] = value
    return name
