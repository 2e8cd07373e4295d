"""What static quantisation quantises: the nodes, their activation tensors, weights and biases.

Quantised ops (as onnxruntime's QDQ quantiser, by default):
- Conv, Gemm, MatMul: activation inputs, the weight (an initializer: int8 symmetric, per tensor
  or per output channel), the bias (int32, scale x_scale * w_scale) and the output; a MatMul with
  a 2-D constant weight whose output only feeds an Add of a constant [N] vector is quantised with
  that Add as one linear op (its output is not requantised before the bias; the bias is int32,
  as a Gemm's);
- Add, Mul, Concat, AveragePool, GlobalAveragePool, Sigmoid, LeakyRelu: every float input
  (constant ones with their own range) and the output, each with its own parameters; except an
  Add or Mul of a constant whose other input comes from an op that stays float (HardSwish,
  LayerNormalization...): it stays float too, quantising it would only add a rounding;
- MaxPool: input and output share parameters (max commutes with a monotone quantisation).
A Relu, or a Clip whose lower bound is 0, that is the only consumer of a quantised op's output is
folded away: the op's output is quantised with the activation's range, whose lower end is 0, so
saturation at the zero point computes the activation exactly. Everything else stays float;
graph outputs stay float (their producer's output is not quantised), and so does an output read
only (through data movement) by ops whose input an integer form would distort: Softmax (the
logits' rounding moves the probabilities) and LayerNormalization. A non-linear op (Add, Mul,
Concat, Sigmoid, pooling) whose output no quantised op reads (a detector's box decoding before a
float graph output) stays float as a whole: its integer form would end in float anyway. A
tensor quantised as an input that data movement (Reshape, Transpose, Slice, ...) made from a
quantised tensor takes that tensor's parameters: its values are already on that grid, so the
second Q -> DQ is exact.
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
# ops that only move or select values: their output is on their input's quantisation grid
DATA_MOVEMENT = frozenset(
    {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Identity", "Gather"}
)
# ops whose input stays float: an int8 input would distort what they compute
FLOAT_INPUT = frozenset({"Softmax", "LogSoftmax", "LayerNormalization"})


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
    # Add node -> (bias input index, MatMul node): MatMul + bias quantised as one linear op
    matmul_bias: dict[str, tuple[int, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # quantisable nodes kept float on request
    weight_bits: int = 8  # 7 with reduce_range
    wide: set[str] = field(default_factory=set)  # nodes with 16-bit activations and weights

    def wide_tensors(self) -> set[str]:
        """The activations and constants with 16-bit codes: every quantised input and output of
        a wide node (a MatMul and its bias Add count as one), and what shares a range with one."""
        by_name = {n.name: n for n in self.graph.nodes}
        nodes = set(self.wide)
        for add, (_, matmul) in self.matmul_bias.items():
            if add in nodes or matmul in nodes:
                nodes |= {add, matmul}
        quantised = set(self.activations) | set(self.constants)
        tensors = {
            t
            for name in nodes
            if name in by_name
            for t in [*by_name[name].inputs, by_name[name].outputs[0]]
            if t in quantised
        }
        grew = True
        while grew:  # shared parameters: both ends or neither
            grew = False
            for name, source in self.shared.items():
                if (name in tensors) != (source in tensors):
                    tensors |= {name, source}
                    grew = True
        return tensors


def plan_static(
    graph: Graph,
    types: dict[str, Value],
    *,
    skip: set[str],
    per_channel: bool,
    weight_bits: int = 8,
    wide: set[str] = frozenset(),  # type: ignore[assignment]
) -> QuantPlan:
    """Decides what to quantise in `graph` (float, opset >= 13); `types` holds inferred dtypes;
    the nodes in `wide` get 16-bit activations and weights."""
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
    producer = {o: n for n in g.nodes for o in n.outputs if o}
    bias_of = _matmul_bias_pairs(g, chosen, consumers, outputs)
    quantised_out: set[str] = set()  # outputs of the nodes quantised so far
    selected: list[Node] = []
    for node in chosen:
        if not _float_fed_affine(node, g, producer, quantised_out):
            selected.append(node)
            quantised_out.add(node.outputs[0])
    selected = _without_float_tail(selected, bias_of, consumers, outputs)
    acts: dict[str, None] = {}
    for node in selected:
        plan.nodes.append(node.name)
        if node.name in bias_of:
            matmul, b_idx = bias_of[node.name]
            plan.matmul_bias[node.name] = (b_idx, matmul)
            if node.outputs[0] not in outputs:
                acts[node.outputs[0]] = None
            continue
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
        if node.name in {m for m, _ in bias_of.values()}:
            continue  # requantised only after its bias Add
        if out not in outputs:
            acts[out] = None
            if node.op_type in SHARED_RANGE and node.inputs[0] not in g.initializers:
                plan.shared[out] = node.inputs[0]
    kept = [a for a in acts if a in consumers or a in outputs]
    plan.activations = [a for a in kept if not _read_only_as_float(a, consumers, outputs)]
    _share_moved(plan, producer)
    plan.wide = {n for n in wide if n in plan.nodes}
    return plan


def _without_float_tail(
    selected: list[Node],
    bias_of: dict[str, tuple[str, int]],
    consumers: dict[str, list[Node]],
    outputs: set[str],
) -> list[Node]:
    """`selected` less the non-linear ops (Add, Concat, Sigmoid, pooling...) whose output no
    quantised op reads (a detector's box decoding before a float graph output): their integer
    form would end in float anyway, so quantising their inputs would only add roundings. Repeats
    until none is left (dropping one can leave the ops before it with float readers too)."""
    linear = {n.name for n in selected if n.op_type in LINEAR or n.name in bias_of}
    while True:
        names = {n.name for n in selected}
        kept = [
            n
            for n in selected
            if n.name in linear or _read_by(n.outputs[0], names, consumers, outputs)
        ]
        if len(kept) == len(selected):
            return kept
        selected = kept


def _read_by(
    name: str, quantised: set[str], consumers: dict[str, list[Node]], outputs: set[str]
) -> bool:
    """Some node in `quantised` reads `name` (looking through data movement)."""
    stack, seen = [name], set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        for n in consumers.get(t, []):
            if n.name in quantised:
                return True
            if n.op_type in DATA_MOVEMENT and n.inputs and n.inputs[0] == t:
                stack.extend(o for o in n.outputs if o)
    return False


def _matmul_bias_pairs(
    g: Graph, chosen: list[Node], consumers: dict[str, list[Node]], outputs: set[str]
) -> dict[str, tuple[str, int]]:
    """Add node -> (MatMul node, bias input index) for MatMul(x, W const 2-D) + constant [N]."""
    names = {n.name for n in chosen}
    pairs: dict[str, tuple[str, int]] = {}
    for node in chosen:
        if node.op_type != "MatMul" or node.inputs[1] not in g.initializers:
            continue
        w = g.initializers[node.inputs[1]]
        out = node.outputs[0]
        readers = consumers.get(out, [])
        if w.ndim != 2 or out in outputs or len(readers) != 1:
            continue
        add = readers[0]
        if add.op_type != "Add" or add.name not in names or len(add.inputs) != 2:
            continue
        b_idx = 1 - add.inputs.index(out)
        b = g.initializers.get(add.inputs[b_idx])
        if (
            b is not None
            and b.ndim == 1
            and b.shape[0] == w.shape[1]
            and add.inputs[0] != add.inputs[1]
        ):
            pairs[add.name] = (node.name, b_idx)
    return pairs


def _float_fed_affine(node: Node, g: Graph, producer: dict[str, Node], quantised: set[str]) -> bool:
    """An Add/Mul of a constant whose other input no quantised op produces (looking through data
    movement): quantising it would add a rounding and make nothing integer."""
    if node.op_type not in ("Add", "Mul") or len(node.inputs) != 2:
        return False
    consts = [i for i in node.inputs if i in g.initializers]
    if len(consts) != 1:
        return False
    x = next(i for i in node.inputs if i not in g.initializers)
    return _moved_from(x, producer, quantised) is None


def _moved_from(name: str, producer: dict[str, Node], targets: set[str]) -> str | None:
    """The tensor in `targets` that `name` is, or is made from by data movement alone."""
    seen = 0
    while name not in targets:
        node = producer.get(name)
        if node is None or node.op_type not in DATA_MOVEMENT or seen > 64:
            return None
        name, seen = node.inputs[0], seen + 1
    return name


def _read_only_as_float(name: str, consumers: dict[str, list[Node]], outputs: set[str]) -> bool:
    """Every reader of `name` (through data movement) is an op in FLOAT_INPUT."""
    readers, stack, seen = 0, [name], set()
    while stack:
        t = stack.pop()
        if t in outputs or t in seen:
            return False
        seen.add(t)
        for n in consumers.get(t, []):
            if n.op_type in DATA_MOVEMENT and n.inputs and n.inputs[0] == t:
                stack.extend(o for o in n.outputs if o)
            elif n.op_type in FLOAT_INPUT:
                readers += 1
            elif n.op_type in ("Shape", "Size"):
                continue  # reads no values
            else:
                return False
    return readers > 0


def _share_moved(plan: QuantPlan, producer: dict[str, Node]) -> None:
    """A quantised tensor made by data movement from another quantised tensor shares its range."""
    quantised = set(plan.activations)
    for name in plan.activations:
        node = producer.get(name)
        if name in plan.shared or node is None or node.op_type not in DATA_MOVEMENT:
            continue
        source = _moved_from(node.inputs[0], producer, quantised)
        if source is not None:
            plan.shared[name] = source


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
