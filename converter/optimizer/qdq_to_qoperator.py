"""QDQ -> QOperator (O2): DequantizeLinear -> float op -> QuantizeLinear becomes one integer op, so
a QDQ model (onnxruntime's quantize_static, QDQ format) runs integer end to end.

Rewrite: (x, w, a, b are the integers DQ nodes read; y the integers the Q writes)
  DQ(x), DQ(W const)[, bias] -> Conv -> Q     =>  QLinearConv(x, W, y params, int32 bias)
  DQ(a), DQ(b) -> MatMul -> Q                 =>  QLinearMatMul
  DQ(a), DQ(B const)[, C] -> Gemm -> Q        =>  com.microsoft::QGemm (C as int32, beta folded)
  DQ(a), DQ(b) -> Add | Mul -> Q              =>  com.microsoft::QLinearAdd | QLinearMul
  DQ(x) -> AveragePool | GlobalAveragePool | Sigmoid | LeakyRelu -> Q  =>  com.microsoft::QLinear*
  DQ(x_i) -> Concat -> Q                      =>  Concat of the integers if every x_i has y's
                                                  parameters, else com.microsoft::QLinearConcat
  DQ(x) -> MaxPool | Reshape | Transpose | Flatten | Squeeze | Unsqueeze | Slice | Gather | Split
           | Expand | Tile | DepthToSpace | SpaceToDepth | Identity | Pad -> Q, x and y with the
           same parameters                    =>  the op on the integers (Pad's value quantised)
  DQ(x) -> Relu | Clip -> Q, same parameters  =>  integer Clip(x, q(min), q(max)), or nothing
A Relu/Clip between an op and its Q becomes an integer Clip(y, q(min), q(max)) after the integer
op, and disappears when that range is the whole of y's type (onnxruntime's quantizer puts the zero
point at the type's minimum after a Relu for this): quantisation q is monotone and q(0) = zero
point, so q(relu(v)) = max(q(v), zero_point) and q(clip(v, lo, hi)) = clip(q(v), q(lo), q(hi)).
Biases: a DQ'd int32 bias with zero point 0 and scale x_scale * w_scale (float32, as onnxruntime
writes it) is used as it is; any other bias (float, or another scale) is quantised to that scale
as onnxruntime's quantize_bias_static does (round half to even in float64, saturate to int32).
Accuracy: the integer-domain rewrites (data movement, Relu/Clip, equal-parameter Concat) are exact.
The requantising QLinear ops are not bit-identical to the QDQ graph: they accumulate in int32 and
multiply once by x_scale * w_scale / y_scale where the QDQ graph computes in float32 and divides
by y_scale, so an output can round the other way; given the same integer inputs they agree within
1 quantisation step. Measured per op on the reference (seeded inputs; models quantised by
onnxruntime's quantize_static): QLinearConv differs by 1 step on about 1 element in 10**6
(tiny_cnn in all four per-tensor/per-channel x uint8/int8 settings, mtcnn_rnet,
ppocr_mobile_v2_cls), QLinearAdd on 1.1e-3 of its elements (ppocr_mobile_v2_cls), QGemm,
QLinearMul and QLinearGlobalAveragePool on none. End to end such a step propagates like any
rounding difference: on ppocr_mobile_v2_cls 6 % of intermediate integers move (up to 19 steps deep
in the network) and the class probabilities by up to 9 steps of 1/255, class unchanged; on tiny_cnn
and mtcnn_rnet under 1e-4 of the integers move, by at most 3 steps (onnxruntime's own QDQ fusion
behaves the same way). onnxruntime runs the rewritten graph bit for bit as Gossamer does with int8
activations, except its QLinearAdd, which rounds 1 step apart on about 1 % of elements; with
uint8 activations and full-range int8 weights its U8S8 kernels on x86 without VNNI saturate int16
pair sums (its own QDQ fusion too, up to 55 steps on tiny_cnn): quantise with reduce_range there.
Preconditions: activations per tensor; the requantising ops take 8-bit (int8/uint8) tensors;
weights and all parameters constant; the float result feeds only its Q (or the Relu/Clip before
it); com.microsoft ops are written only when the reference defines them (so the result runs here
and in onnxruntime); integer MaxPool and Clip need opset >= 12. Anything else stays float.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams
from .qdq_match import QOutput, QTensor, activation_range, dequantized, quantized_output
from .qdq_rules import MS_DOMAIN, RULES
from .rewrite import GraphView, copy_graph, default_opset, is_standard, live_value_info

NAME = "qdq_to_qoperator"
LEVEL = 2
_DATA_MOVEMENT = frozenset(
    "MaxPool Reshape Transpose Flatten Squeeze Unsqueeze Slice Gather Split Expand Tile "
    "DepthToSpace SpaceToDepth Identity Pad".split()
)


def qdq_to_qoperator(graph: Graph) -> Graph:
    """A copy of `graph` with its QDQ patterns rewritten into integer ops (the input is kept)."""
    result = copy_graph(graph)
    run(result)
    result.nodes[:] = result.topological_nodes()
    result.value_info = live_value_info(result)
    result.validate()
    return result


def run(graph: Graph) -> list[str]:
    view = GraphView(graph)
    opset = default_opset(graph)
    changes: list[str] = []
    removed: list[Node] = []
    for node in graph.topological_nodes():
        if not is_standard(node) or not view.alive(node):
            continue
        if node.op_type in ("Relu", "Clip"):
            done = _integer_activation(view, node, opset, removed)
        elif node.op_type in _DATA_MOVEMENT:
            done = _integer_op(view, node, opset, removed)
        elif node.op_type in RULES:
            rewrite = RULES[node.op_type](view, node)
            if rewrite is not None:
                core, outs, note = rewrite
                _emit(view, node, core, outs, removed)
                exact = note == "exact"
                note = "" if exact or not note else f"{note}; "
                done = f"{core.op_type} ({note}{'exact' if exact else 'within 1 step'})"
            else:
                done = None
        else:
            continue
        if done:
            changes.append(f"{node.name}: DQ -> {node.op_type} -> Q => {done}")
    _drop_orphans(view, removed)
    if any(n.domain == MS_DOMAIN for n in graph.nodes):
        graph.opsets.setdefault(MS_DOMAIN, 1)
    return changes


def _emit(
    view: GraphView, node: Node, core: Node, outs: list[QOutput], removed: list[Node]
) -> None:
    """Replaces `node` and its activations and Qs by `core` (and an integer Clip per output that
    needs one); the results keep the Q outputs' names."""
    new = [core]
    core.outputs[:] = [""] * len(outs)
    for i, out in enumerate(outs):
        view.graph.quant[out.q.name] = QuantParams(out.q.scale, out.q.zero_point)
        if out.clip is None:
            core.outputs[i] = out.q.name
            continue
        core.outputs[i] = view.fresh(f"{out.q.name}_unclipped")
        low, high = (np.array(v, out.q.dtype) for v in out.clip)
        bounds = [
            view.add_initializer(f"{out.q.name}_{k}", v) for k, v in (("min", low), ("max", high))
        ]
        name = out.nodes[0].name or view.fresh(f"{core.name}_clip")
        new.append(Node("Clip", [core.outputs[i], *bounds], [out.q.name], {}, name))
    old = [node] + [n for out in outs for n in out.nodes]
    removed += old
    view.replace(old, new)


def _integer_op(view: GraphView, node: Node, opset: int, removed: list[Node]) -> str | None:
    """A data-movement op on a quantised tensor whose Q keeps its parameters runs on the integers
    (it only moves or selects values, and q(dq(x)) = x)."""
    x = dequantized(view, node.inputs[0]) if node.inputs else None
    if x is None or x.axis is not None:
        return None
    if node.op_type == "MaxPool" and (opset < 12 or not x.eight_bit or len(node.outputs) > 1):
        return None
    outs = [quantized_output(view, o) for o in node.outputs]
    if any(o is None or not o.q.same_params(x) for o in outs):
        return None
    inputs = [x.name, *node.inputs[1:]]
    if node.op_type == "Pad":
        padded = _pad_inputs(view, node, opset, x, inputs)
        if padded is None:
            return None
        inputs = padded
    core = Node(node.op_type, inputs, [], dict(node.attrs), node.name, node.domain)
    _emit(view, node, core, [o for o in outs if o is not None], removed)
    return f"integer {node.op_type} (exact)"


def _pad_inputs(
    view: GraphView, node: Node, opset: int, x: QTensor, inputs: list[str]
) -> list[str] | None:
    """Pad-11+ on integers: a constant-mode pad value v becomes q(v) (exact: q(dq(x)) = x)."""
    if opset < 11:
        return None
    if node.attrs.get("mode", "constant") != "constant":
        return inputs
    name = inputs[2] if len(inputs) > 2 else ""
    value = view.scalar(name) if name else 0.0
    if value is None:
        return None
    padded = list(inputs) + [""] * (3 - len(inputs))
    padded[2] = view.add_initializer(f"{node.name}_value", np.array(x.quantize(value), x.dtype))
    return padded


def _integer_activation(view: GraphView, act: Node, opset: int, removed: list[Node]) -> str | None:
    """DQ -> Relu/Clip -> Q with unchanged parameters: an integer Clip, or nothing at all."""
    x = dequantized(view, act.inputs[0])
    out = quantized_output(view, act.outputs[0])
    if x is None or out is None or not out.q.same_params(x):
        return None
    own = activation_range(view, act, out.q)
    if own is None:
        return None
    qmin, qmax = out.q.bounds()
    low, high = own
    if out.clip is not None:
        low, high = max(low, out.clip[0]), min(high, out.clip[1])
    vanishes = low <= qmin and high >= qmax
    if not vanishes and opset < 12:
        return None
    old = [act, *out.nodes]
    removed += old
    if vanishes and out.q.name not in view.outputs:
        view.replace(old, [])
        view.rename(out.q.name, x.name)
        return "nothing (exact: its range is the whole integer type)"
    view.graph.quant[out.q.name] = QuantParams(out.q.scale, out.q.zero_point)
    name = act.name or view.fresh(act.op_type)
    if vanishes:
        view.replace(old, [Node("Identity", [x.name], [out.q.name], {}, name)])
        return "Identity (exact)"
    bounds = [
        view.add_initializer(f"{out.q.name}_{k}", np.array(v, out.q.dtype))
        for k, v in (("min", low), ("max", high))
    ]
    view.replace(old, [Node("Clip", [x.name, *bounds], [out.q.name], {}, name)])
    return f"integer Clip [{low}, {high}] (exact)"


def _drop_orphans(view: GraphView, removed: list[Node]) -> None:
    """Removes the DequantizeLinear nodes no one reads any more, and the constants that only the
    removed nodes read."""
    for node in reversed(view.graph.topological_nodes()):
        if node.op_type == "DequantizeLinear" and is_standard(node):
            if not any(view.is_used(o) for o in node.outputs if o):
                view.replace([node], [])
                removed.append(node)
    for name in {i for n in removed for i in n.inputs if i}:
        if name in view.graph.initializers and not view.is_used(name):
            if name not in view.feedable:
                del view.graph.initializers[name]
