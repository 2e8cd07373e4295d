"""Writes a QuantPlan as a standard QDQ graph, the format onnxruntime's quantize_static writes.

Each quantised activation X gets QuantizeLinear -> DequantizeLinear (X_QuantizeLinear_Output,
X_DequantizeLinear_Output) and every consumer reads the dequantised value; each weight is stored
as an int8 initializer W_quantized with its own DequantizeLinear (per tensor, or per channel with
`axis`); each bias as int32 B_quantized (scale x_scale * w_scale) with a DequantizeLinear
(a MatMul's in the Add after it).
Every quantised value's parameters are also recorded in `Graph.quant`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams
from ..optimizer.rewrite import copy_graph, drop_unused_initializers
from .plan import QuantPlan
from .qparams import (
    WIDE_OPSET,
    WIDE_TYPES,
    activation_params,
    bias_params,
    code_type,
    quantize_array,
    quantize_bias,
    weight_params,
)

WIDE_WEIGHT_BITS = 16
# a 16-bit activation's calibrated range is widened by this factor: its codes have resolution to
# spare, and values beyond what a few dozen calibration samples showed otherwise clip (on
# ppocrv4_rec every layer 16-bit changes 2 of 60 test lines' decoding with the calibrated ranges,
# none with them doubled)
WIDE_MARGIN = 2.0


@dataclass
class QdqResult:
    graph: Graph
    params: dict[str, QuantParams]  # float tensor name (activation, constant) -> its parameters
    dequantized: dict[str, str]  # float tensor name -> the name consumers read it under now
    weights: dict[tuple[str, int], QuantParams]  # (node, input) -> weight parameters


def activation_ranges(
    plan: QuantPlan, ranges: dict[str, tuple[float, float]], act_dtype: str
) -> dict[str, QuantParams]:
    """Parameters of every activation and constant the plan quantises; a shared-range tensor
    (MaxPool's output) takes its source's; the plan's wide tensors get 16-bit codes over their
    range widened WIDE_MARGIN times (but the range of a folded activation's output, whose ends
    compute it)."""
    wide = plan.wide_tensors()
    # outputs whose range stands for a folded Relu/Clip, and what shares their parameters
    folded = {post for _, post in plan.folded.values()}
    folded |= {n for n, source in plan.shared.items() if source in folded}
    params: dict[str, QuantParams] = {}

    def dtype(name: str) -> str:
        return WIDE_TYPES[act_dtype] if name in wide else act_dtype

    for name in plan.activations:
        source = name
        while source in plan.shared:
            source = plan.shared[source]
        low, high = ranges.get(source, ranges.get(name, (0.0, 0.0)))
        if name in wide and name not in folded:  # a folded Relu6 needs its 6
            low, high = low * WIDE_MARGIN, high * WIDE_MARGIN
        params[name] = activation_params(low, high, dtype(name))
    for name in plan.constants:
        data = plan.graph.initializers[name]
        params[name] = activation_params(float(data.min()), float(data.max()), dtype(name))
    return params


def write_qdq(
    plan: QuantPlan,
    params: dict[str, QuantParams],
    act_dtype: str = "uint8",
    bias_shift: dict[str, np.ndarray] | None = None,
) -> QdqResult:
    """The QDQ graph; `bias_shift` (node -> per-channel float) is subtracted from the biases
    before they are quantised (bias correction). With any 16-bit codes the graph's opset is
    raised to 21 (16-bit QuantizeLinear/DequantizeLinear); a bias whose input or weight has
    16-bit codes stays float (int32 codes on so fine a scale could overflow)."""
    g = copy_graph(plan.graph)
    g.initializers = dict(g.initializers)
    taken = g.produced_names() | {i for n in g.nodes for i in n.inputs}
    fresh = _Namer(taken)
    rename: dict[str, str] = {}
    new_nodes: list[Node] = []
    for name in [*plan.activations, *plan.constants]:
        p = params[name]
        scale, zero = fresh(f"{name}_scale"), fresh(f"{name}_zero_point")
        g.initializers[scale] = np.asarray(p.scale, np.float32)
        g.initializers[zero] = np.asarray(p.zero_point, code_type(p))
        deq = fresh(f"{name}_DequantizeLinear_Output")
        if name in plan.constants:
            q = fresh(f"{name}_quantized")
            g.initializers[q] = quantize_array(g.initializers[name], p, code_type(p))
        else:
            q = fresh(f"{name}_QuantizeLinear_Output")
            new_nodes.append(
                Node(
                    "QuantizeLinear", [name, scale, zero], [q], name=fresh(f"{name}_QuantizeLinear")
                )
            )
        new_nodes.append(
            Node(
                "DequantizeLinear", [q, scale, zero], [deq], name=fresh(f"{name}_DequantizeLinear")
            )
        )
        g.quant[q] = p
        rename[name] = deq
    by_name = {n.name: n for n in g.nodes}
    weights: dict[tuple[str, int], QuantParams] = {}
    written: dict[tuple[str, int | None, int], str] = {}
    for (node_name, idx), axis in plan.weights.items():
        node = by_name[node_name]
        w_name = node.inputs[idx]
        w = g.initializers[w_name]
        bits = WIDE_WEIGHT_BITS if node_name in plan.wide else plan.weight_bits
        wp = weight_params(w, axis, bits)
        weights[(node_name, idx)] = wp
        key = (w_name, axis, bits)
        if key not in written:
            written[key] = _dequantized_weight(g, new_nodes, fresh, w_name, w, wp)
        node.inputs[idx] = written[key]
    biases = [(name, b_idx, name, w_idx) for name, (b_idx, w_idx) in plan.biases.items()]
    biases += [(add, b_idx, mm, 1) for add, (b_idx, mm) in plan.matmul_bias.items()]
    for node_name, b_idx, linear, w_idx in biases:
        node = by_name[node_name]
        x_params = params.get(by_name[linear].inputs[0])
        wp = weights.get((linear, w_idx))
        if x_params is None or wp is None:
            continue
        b = g.initializers[node.inputs[b_idx]].astype(np.float32)
        if bias_shift and node_name in bias_shift:
            b = b - bias_shift[node_name].astype(np.float32)
        if x_params.bits > 8 or wp.bits > 8:
            if bias_shift and node_name in bias_shift:
                node.inputs[b_idx] = fresh(f"{node.inputs[b_idx]}_corrected")
                g.initializers[node.inputs[b_idx]] = b
            continue
        bp = bias_params(x_params.scale, wp)
        node.inputs[b_idx] = _dequantized_bias(g, new_nodes, fresh, node.inputs[b_idx], b, bp)
    for node in g.nodes:
        node.inputs = [rename.get(i, i) for i in node.inputs]
    g.nodes = g.nodes + new_nodes  # added after the renaming: Q nodes read the float tensors
    g.nodes = g.topological_nodes()
    drop_unused_initializers(g)
    if any(p.bits > 8 for p in [*params.values(), *weights.values()]):
        g = _with_wide_opset(g)
    return QdqResult(g, params, rename, weights)


def _with_wide_opset(g: Graph) -> Graph:
    """`g` at opset 21 or later: in place where no op of it changes meaning, else converted."""
    from .opset_compat import changed_ops
    from .prepare import upgrade_opset

    opset = g.opsets.get("", g.opsets.get("ai.onnx", 1))
    if opset >= WIDE_OPSET:
        return g
    if not changed_ops(g, opset, WIDE_OPSET):
        g.opsets = {**g.opsets, "": WIDE_OPSET}
        g.opsets.pop("ai.onnx", None)
        return g
    upgraded = upgrade_opset(g, WIDE_OPSET)
    upgraded.quant = dict(g.quant)
    return upgraded


def _dequantized_weight(
    g: Graph, nodes: list[Node], fresh: _Namer, name: str, w: np.ndarray, wp: QuantParams
) -> str:
    q, scale, zero = fresh(f"{name}_quantized"), fresh(f"{name}_scale"), fresh(f"{name}_zero_point")
    g.initializers[q] = quantize_array(w, wp, code_type(wp), symmetric=True)
    g.initializers[scale] = wp.scale
    g.initializers[zero] = wp.zero_point
    out = fresh(f"{name}_DequantizeLinear_Output")
    attrs = {} if wp.axis is None else {"axis": wp.axis}
    nodes.append(
        Node(
            "DequantizeLinear",
            [q, scale, zero],
            [out],
            attrs,
            name=fresh(f"{name}_DequantizeLinear"),
        )
    )
    g.quant[q] = wp
    return out


def _dequantized_bias(
    g: Graph, nodes: list[Node], fresh: _Namer, name: str, b: np.ndarray, bp: QuantParams
) -> str:
    q, scale, zero = fresh(f"{name}_quantized"), fresh(f"{name}_scale"), fresh(f"{name}_zero_point")
    g.initializers[q] = quantize_bias(b, bp)
    g.initializers[scale] = bp.scale
    g.initializers[zero] = bp.zero_point
    out = fresh(f"{name}_DequantizeLinear_Output")
    attrs = {} if bp.axis is None else {"axis": 0}
    nodes.append(
        Node(
            "DequantizeLinear",
            [q, scale, zero],
            [out],
            attrs,
            name=fresh(f"{name}_DequantizeLinear"),
        )
    )
    # not in g.quant: its 32-bit codes are beyond what QuantParams records (1..16 bits)
    return out


class _Namer:
    """Fresh names: `base`, else `base_1`, `base_2`, ... (never one the graph already uses)."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def __call__(self, base: str) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name
