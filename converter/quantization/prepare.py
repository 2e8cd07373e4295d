"""The float graph a quantiser starts from: opset 17 or later (per-channel QuantizeLinear and
DequantizeLinear need 13, a standard HardSwish 14, LayerNormalization 17), constants folded,
BatchNormalization folded into the convolutions, x * Clip(x + 3, 0, 6) / 6 made HardSwish (else
its x * relu6(x + 3) product, up to 36 x larger than the result, would be quantised on its own
wide range), a hand-written LayerNorm made LayerNormalization (kept float: its Sub/Mul/Add chain
quantised step by step loses the small deviations it normalises) and MatMul + Add made Gemm, and
constant per-channel Mul/Add after a Conv folded into it (affine_folding.py), so that each
weight and bias is quantised once, after folding (as onnxruntime's quant_pre_process does).
Only standard ONNX ops come out: no fused gossamer ops.
"""

from __future__ import annotations

from ...refimpl.errors import UnsupportedModelError
from ...refimpl.ir import Graph
from ..optimizer import optimize
from ..optimizer.rewrite import default_opset
from .affine_folding import fold_affine

NEEDED_OPSET = 13  # per-channel QuantizeLinear / DequantizeLinear
WANTED_OPSET = 17  # HardSwish (14) and LayerNormalization (17) are standard ops from here
PASSES = [
    "constant_folding",
    "noop_removal",
    "dead_node_elimination",
    "batchnorm_folding",
    "hardswish_fusion",
    "layernorm_fusion",
    "matmul_add_to_gemm",
    "noop_removal",
    "dead_node_elimination",
]
# fusions that write a standard op only from an opset on (below it a gossamer-domain op)
_STANDARD_FROM = {"hardswish_fusion": 14, "layernorm_fusion": 17}


def prepare_float_graph(graph: Graph) -> Graph:
    """A folded copy of `graph` at opset >= 13, 17 where onnx's version converter gets it there
    (the input is not modified)."""
    if default_opset(graph) < WANTED_OPSET:
        try:
            graph = upgrade_opset(graph, WANTED_OPSET)
        except UnsupportedModelError:
            if default_opset(graph) < NEEDED_OPSET:
                graph = upgrade_opset(graph, NEEDED_OPSET)
    opset = default_opset(graph)
    passes = [p for p in PASSES if opset >= _STANDARD_FROM.get(p, 0)]
    prepared, _ = optimize(graph, passes=passes)
    prepared.metadata.pop("gossamer.optimize", None)
    fold_affine(prepared)
    return prepared


def upgrade_opset(graph: Graph, opset: int) -> Graph:
    """`graph` converted to default-domain `opset` with onnx's version converter."""
    from onnx import version_converter

    from ..onnx_export import graph_to_onnx
    from ..onnx_import import graph_from_onnx

    try:
        model = version_converter.convert_version(graph_to_onnx(graph), opset)
    except Exception as err:  # the converter raises bare RuntimeErrors from C++
        raise UnsupportedModelError(
            f"model {graph.name!r} is at opset {default_opset(graph)}, and onnx's version "
            f"converter cannot bring it to opset {opset}, which quantisation needs: {err}"
        ) from None
    upgraded = graph_from_onnx(model)
    upgraded.model_info = dict(graph.model_info)
    return upgraded
