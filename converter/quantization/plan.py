"""What static quantisation quantises: the nodes, their activation tensors, weights and biases.

Quantised ops (as onnxruntime's QDQ quantiser, by default):
- Conv, Gemm, MatMul: activation inputs, the weight (an initializer: int8 symmetric, per tensor
  or per output channel), the bias (int32, scale x_scale * w_scale) and the output;
- Add, Mul, Concat, AveragePool, GlobalAveragePool, Sigmoid, LeakyRelu: every float input
  (constant ones with their own range) and the output, each with its own parameters;
- MaxPool: input and output share parameters (max commutes with a monotone quantisation).
A Relu, or a Clip whose lower bound is 0, that is the only consumer of a quantised op's output is
folded away: the op's output is quantised with the activation's range, whose lower end is 0, so
saturation at the zero point computes the activation exactly. Everything else stays float;
graph outputs stay float (their producer's output is not quantised).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...refimpl.ir import Graph, Node, Value
from ..optimizer.rewrite import copy_graph

LINEAR = frozenset({"Conv", "Gemm", "MatMul"})
OWN_RANGE = frozenset(
    {"Add", "Mul", "Concat", "AveragePool", "GlobalAveragePool", "Sigmoid", "LeakyRelu"}
)
SHARED_RANGE = frozenset({"MaxPool"})
QUANTIZABLE = LINEAR | OWN_RANGE | SHARED_RANGE
FOLDABLE = frozenset({"Relu", "Clip"})


@dataclass
class QuantPlan:
    """The graph with activations folded, and what to quantise in it."""

    graph: Graph  # the float graph with folded activations removed (same tensor names otherwise)
    nodes: list[str] = field(default_factory=list)  # quantised node names, graph order
    activations: list[str] = field(default_factory=list)  # tensors to Q/DQ, graph order
    constants: list[str] = field(default_factory=list)  # initializers quantised as activations
    weights: dict[tuple[str, int], int | None] = field(default_factory=dict)  # (node, input): axis
    biases: dict[str, tuple[int, int]] = field(default_factory=dict)  # node: (bias input, weight)
    shared: dict[str, str] = field(default_factory=dict)  # tensor -> tensor whose range it takes
    folded: dict[str, tuple[str, str]] = field(default_factory=dict)  # node: (pre, post) names
    skipped: list[str] = field(default_factory=list)  # quantisable nodes kept float on request
    weight_bits: int = 8  # 7 with reduce_range


def plan_static(
    graph: Graph,
    types: dict[str, Value],
    *,
    skip: set[str],
    per_channel: bool,
    weight_bits: int = 8,
) -> QuantPlan:
    """Decides what to quantise in `graph` (float, opset >= 13); `types` holds inferred dtypes."""
    g = copy_graph(graph)
    plan = QuantPlan(g, weight_bits=weight_bits)
    outputs = {v.name for v in g.outputs}

    def is_float(name: str) -> bool:
        if name in g.initializers:
            return g.initializers[name].dtype == np.float32
        v = types.get(name)
        return v is not None and v.dtype == "float32"

    chosen: list[Node] = []
    for node in g.topological_nodes():
        if node.op_type not in QUANTIZABLE or node.domain not in ("", "ai.onnx"):
            continue
        if node.name in skip:
            plan.skipped.append(node.name)
            continue
        names = [i for i in node.inputs if i] + [node.outputs[0]]
        if not all(is_float(n) for n in names) or not _supported(node, g):
            continue
        chosen.append(node)
    chosen_names = {n.name for n in chosen}
    _fold_activations(plan, chosen_names, skip, outputs)
    consumers = _consumers(g)
    acts: dict[str, None] = {}
    for node in chosen:
        plan.nodes.append(node.name)
        for idx, name in enumerate(node.inputs):
            if not name:
                continue
            if node.op_type in LINEAR and idx == 1 and name in g.initializers:
                plan.weights[(node.name, idx)] = _weight_axis(node, g) if per_channel else None
            elif idx == 2 and node.op_type in ("Conv", "Gemm"):
                if name in g.initializers and _bias_quantizable(node, g):
                    plan.biases[node.name] = (idx, 1)
            elif name in g.initializers:
                if name not in plan.constants:
                    plan.constants.append(name)
            else:
                acts[name] = None
        out = node.outputs[0]
        if out not in outputs:
            acts[out] = None
            if node.op_type in SHARED_RANGE and node.inputs[0] not in g.initializers:
                plan.shared[out] = node.inputs[0]
    plan.activations = [a for a in acts if a in consumers or a in outputs]
    return plan


def _supported(node: Node, g: Graph) -> bool:
    """Shapes of the pattern the quantised form needs (weights constant where they must be)."""
    if node.op_type in ("Conv", "Gemm") and node.inputs[1] not in g.initializers:
        return False
    if node.op_type == "Gemm" and node.attrs.get("transA", 0):
        return False
    if node.op_type == "MaxPool" and len([o for o in node.outputs if o]) > 1:
        return False  # the indices output is not quantisable
    return True


def _weight_axis(node: Node, g: Graph) -> int | None:
    """The output-channel axis of a weight, or None where per-channel does not apply."""
    w = g.initializers[node.inputs[1]]
    if node.op_type == "Conv":
        return 0
    if node.op_type == "Gemm":
        return 0 if node.attrs.get("transB", 0) else 1
    return 1 if w.ndim == 2 else None  # MatMul: (K, N), per output column


def _bias_quantizable(node: Node, g: Graph) -> bool:
    """An int32 bias needs plain y = x*w + b: Conv, or Gemm with alpha = beta = 1 and a 1-D C."""
    b = g.initializers[node.inputs[2]]
    if node.op_type == "Conv":
        return b.ndim == 1
    w = g.initializers[node.inputs[1]]
    n = w.shape[0] if node.attrs.get("transB", 0) else w.shape[-1]
    return (
        float(node.attrs.get("alpha", 1.0)) == 1.0
        and float(node.attrs.get("beta", 1.0)) == 1.0
        and b.ndim == 1
        and b.shape[0] == n
    )


def _fold_activations(plan: QuantPlan, chosen: set[str], skip: set[str], outputs: set[str]) -> None:
    g = plan.graph
    producer = {o: n for n in g.nodes for o in n.outputs if o}
    consumers = _consumers(g)
    removed: set[int] = set()
    for act in list(g.nodes):
        if act.op_type not in FOLDABLE or act.name in skip or not _starts_at_zero(act, g):
            continue
        pre = act.inputs[0]
        node = producer.get(pre)
        if node is None or node.name not in chosen or node.op_type in SHARED_RANGE:
            continue
        post = act.outputs[0]
        if pre in outputs or post in outputs or node.outputs[0] != pre:
            continue
        if len(consumers.get(pre, ())) != 1:
            continue
        node.outputs[0] = post
        removed.add(id(act))
        plan.folded[node.name] = (pre, post)
        g.value_info.pop(pre, None)
    g.nodes[:] = [n for n in g.nodes if id(n) not in removed]


def _starts_at_zero(act: Node, g: Graph) -> bool:
    """Relu, or Clip with lower bound exactly 0 (attribute before opset 11, input after)."""
    if act.op_type == "Relu":
        return True
    if "min" in act.attrs:
        return float(act.attrs["min"]) == 0.0
    low = act.inputs[1] if len(act.inputs) > 1 else ""
    if not low or low not in g.initializers:
        return False
    return float(np.asarray(g.initializers[low]).reshape(())) == 0.0


def _consumers(g: Graph) -> dict[str, list[Node]]:
    out: dict[str, list[Node]] = {}
    for n in g.nodes:
        for i in n.inputs:
            if i:
                out.setdefault(i, []).append(n)
        for sub in n.subgraphs():
            for name in sub.free_names():
                out.setdefault(name, []).append(n)
    return out
