"""Quantised (int8 / uint8 / int16) TFLite operators -> the `tflite::*` reference ops.

An operator that reads or writes a quantised integer tensor is converted by these converters
instead of the float ones (`pick` routes it): ops_quantized_compute.py for arithmetic,
ops_quantized_moving.py for data movement, ops_quantized_base.py for what they share.
Arithmetic becomes `tflite::*` nodes (refimpl/ops/op_tfl_*.py), which reproduce TFLite's integer
kernels bit for bit, NHWC as TFLite lays them out (integer results do not depend on the order of
accumulation, so there is nothing to gain from NCHW, and an NPU simulating them reads TFLite's
own layouts); each node takes its tensors' scales (float32) and zero points (int32) as constant
inputs, in the order of ONNX's QLinear* ops. Data movement (reshape, slicing, concatenation,
transposes, padding with the zero point, ...) on tensors of equal quantisation is exact on the
integers and reuses the float converters' ONNX ops. `annotate` fills Graph.quant for every
quantised tensor the graph uses. See docs/tflite-import.md for the semantics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...refimpl.ir import Graph, QuantParams
from . import ops_hybrid, ops_quantized_compute, ops_quantized_more, ops_quantized_moving
from .context import Context, Converter, Unsupported
from .ops_quantized_base import DOMAIN, is_quantized
from .reader import Operator, Subgraph

# control flow and resource variables move quantised values as they are
# (and CAST converts the raw integers: TFLite's kernel ignores quantisation)
PASS_THROUGH = frozenset(
    {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "IF", "WHILE", "CAST"}
)
CONVERTERS: dict[str, Converter] = {
    **ops_quantized_compute.CONVERTERS,
    **ops_quantized_moving.CONVERTERS,
    **ops_quantized_more.CONVERTERS,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ops_hybrid.hybrid_sequence_lstm,
}
# later variants wrap the first converters: each takes its own case (int16, uint8, per-channel,
# int32, a hybrid float input) and hands every other operator to the converter it wraps
_VARIANTS: dict[str, Callable[[Converter], Converter]] = {
    "QUANTIZE": ops_quantized_more.quantize_per_channel,
    "ADD": ops_quantized_more.int16_arithmetic,
    "SUB": ops_quantized_more.int16_arithmetic,
    "MUL": ops_quantized_more.int16_arithmetic,
    "BATCH_MATMUL": ops_quantized_more.batch_matmul_int16,
    "RESIZE_BILINEAR": ops_quantized_more.resize_bilinear_uint8,
    "CONV_2D": ops_hybrid.hybrid,
    "DEPTHWISE_CONV_2D": ops_hybrid.hybrid,
    "FULLY_CONNECTED": ops_hybrid.hybrid,
}
for _name, _variant in _VARIANTS.items():
    CONVERTERS[_name] = _variant(CONVERTERS[_name])


def pick(sg: Subgraph, op: Operator, plain: Converter | None) -> Converter:
    """The converter for `op`: this module's when it touches a quantised integer tensor (or is a
    QUANTIZE), else `plain` (the float converter); ops that only move values (variables, control
    flow) keep `plain` either way."""
    if op.opcode in PASS_THROUGH or not (
        op.opcode == "QUANTIZE" or any(is_quantized(sg, i) for i in op.inputs + op.outputs)
    ):
        if plain is None:
            raise Unsupported("no converter")
        return plain
    if op.opcode in CONVERTERS:
        return CONVERTERS[op.opcode]
    dtypes = sorted({sg.tensors[i].dtype for i in op.inputs + op.outputs if is_quantized(sg, i)})
    raise Unsupported(f"quantized {'/'.join(dtypes)} tensors (not imported for this op yet)")


def annotate(ctx: Context, graph: Graph) -> None:
    """graph.quant[name] for every quantised integer tensor of ctx's subgraph that the graph uses
    (per-channel params keep their axis), and the `tflite` opset when a tflite:: node is used."""
    if any(n.domain == DOMAIN for n in graph.nodes):
        graph.opsets[DOMAIN] = 1
    used = set(graph.initializers) | {v.name for v in graph.inputs + graph.outputs}
    for node in graph.nodes:
        used.update(node.inputs)
        used.update(node.outputs)
    for t in ctx.subgraph.tensors:
        name = ctx.names[t.index]
        if name in used and is_quantized(ctx.subgraph, t.index) and len(t.quantization.scales):
            q = t.quantization
            per_channel = len(q.scales) > 1
            graph.quant[name] = QuantParams(
                scale=np.asarray(q.scales, np.float32).reshape(-1 if per_channel else ()),
                zero_point=np.asarray(q.zero_points, np.int64).reshape(-1 if per_channel else ()),
                axis=int(q.quantized_dimension) if per_channel else None,
                bits=8 if t.dtype != "int16" else 16,
            )
