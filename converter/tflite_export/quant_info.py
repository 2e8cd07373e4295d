"""The quantisation parameters of every integer value a graph computes, as the exporter needs
them for TFLite's per-tensor QuantizationParameters.

Three sources, in order of authority: the scale / zero-point inputs of the integer ops
themselves (`tflite::Conv2D(x, x_scale, x_zero_point, w, ...)`, ONNX QLinearConv, QuantizeLinear
...: what the kernel actually uses), `Graph.quant` (the importer's and the quantiser's annotation),
and propagation through ops that move integers without changing them (Reshape, Transpose, Concat,
Slice, ...: their output has their input's parameters, and back).
"""

from __future__ import annotations

import inspect
from functools import lru_cache

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams
from ...refimpl.registry import default_registry

# ops whose integer outputs carry their (first) data input's parameters unchanged
MOVING = frozenset(
    "Identity Reshape Transpose Flatten Squeeze Unsqueeze Slice Split Concat Pad Gather GatherND "
    "Tile Expand DepthToSpace SpaceToDepth Max Min ReduceMax ReduceMin MaxPool Resize Clip "
    "StridedSlice".split()
)  # fmt: skip
INTEGER = ("int8", "uint8", "int16")


@lru_cache(maxsize=256)
def param_names(domain: str, op_type: str, opset: int) -> tuple[str, ...]:
    """The reference function's positional parameter names (empty when the op is unknown)."""
    fn = default_registry().resolve(domain, op_type, opset)
    if fn is None:
        return ()
    return tuple(
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def explicit_params(graph: Graph, node: Node) -> dict[str, tuple[str, str]]:
    """Value name -> (scale input, zero-point input) for the values whose parameters `node` takes
    as inputs: `<p>_scale` / `<p>_zero_point` next to data input `<p>`, and `y_*` for the output
    (ONNX's QuantizeLinear: its y_scale / y_zero_point)."""
    names = param_names(node.domain, node.op_type, graph.opsets.get(node.domain, 1))
    position = {n: i for i, n in enumerate(names)}
    found: dict[str, tuple[str, str]] = {}
    for name, i in position.items():
        if not name.endswith("_scale"):
            continue
        base = name[: -len("_scale")]
        zp = position.get(base + "_zero_point")
        if i >= len(node.inputs) or not node.inputs[i]:
            continue
        zp_name = node.inputs[zp] if zp is not None and zp < len(node.inputs) else ""
        if base in position and position[base] < len(node.inputs) and node.inputs[position[base]]:
            found[node.inputs[position[base]]] = (node.inputs[i], zp_name)
        elif base in ("y", "c") and node.outputs and node.outputs[0]:  # QLinearAdd: c_scale
            found[node.outputs[0]] = (node.inputs[i], zp_name)
    return found


def collect_quant(graph: Graph, known: dict[str, QuantParams], dtypes: dict[str, str]) -> dict:
    """QuantParams of every integer value we can tell (name -> QuantParams)."""
    consts = graph.initializers
    quant: dict[str, QuantParams] = {}
    for node in graph.nodes:
        for value, (scale, zp) in explicit_params(graph, node).items():
            if scale not in consts or value in quant:
                continue
            s = np.asarray(consts[scale], np.float32)
            z = np.asarray(consts[zp], np.int64) if zp in consts else np.zeros(s.shape, np.int64)
            axis = known[value].axis if value in known and s.ndim else None
            quant[value] = QuantParams(s, z, axis=axis if s.size > 1 else None)
    for name, q in known.items():
        quant.setdefault(name, q)
    _propagate(graph, quant, dtypes)
    return quant


def _propagate(graph: Graph, quant: dict[str, QuantParams], dtypes: dict[str, str]) -> None:
    """Moving ops: output params = data input params (and back), until nothing changes."""
    moving = [n for n in graph.nodes if n.op_type in MOVING and n.domain in ("", "ai.onnx")]
    changed = True
    while changed:
        changed = False
        for node in moving:
            data = [i for i in node.inputs[: 1 if node.op_type != "Concat" else None] if i]
            ends = [*data, *(o for o in node.outputs if o)]
            ends = [e for e in ends if dtypes.get(e) in INTEGER]
            have = [quant[e] for e in ends if e in quant and quant[e].axis is None]
            if not have:
                continue
            for e in ends:
                if e not in quant:
                    quant[e] = have[0]
                    changed = True
