"""Model statistics: op histogram, parameter count and bytes, estimated FLOPs per node.

FLOPs follow the usual counter conventions: a multiply-add is 2 FLOPs; Conv is
2*N*Cout*Hout*Wout*(Cin/group)*kh*kw, MatMul/Gemm 2*M*N*K per batch (bias additions not counted);
element-wise ops cost about 1 per output element, pools 1 per window element, normalisations a few
per element; data movement (Reshape, Transpose, Gather, ...) costs 0. A node whose shapes are not
known statically (or whose op has no formula) has no estimate and contributes 0. Totals cover the
main graph: If/Loop/Scan bodies run a data-dependent number of times, so those nodes have no
estimate, while the nodes inside their bodies are still listed (and counted in the histogram).
Symbolic input dims can be fixed with `input_shapes=` to get estimates for dynamic models.
`memory` is the static arena plan (refimpl/memory_plan.py) of the main graph's intermediates."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import GossamerError
from .ir import Graph, Node, Value
from .memory_plan import MemoryPlan, plan_memory
from .shape_inference import infer_shapes

Shapes = Callable[[str], tuple[int, ...] | None]


@dataclass
class NodeFlops:
    """The estimate for one node; flops None means "no estimate"."""

    graph: str
    node: str
    op_type: str
    flops: int | None
    in_subgraph: bool = False


@dataclass
class ModelStats:
    graph_name: str
    op_histogram: dict[str, int]  # op type ("domain::Op" outside the default domain) -> count
    num_nodes: int  # main graph
    num_subgraph_nodes: int
    param_count: int  # elements of initializers and Constant tensors, subgraphs included
    param_bytes: int
    total_flops: int  # main graph
    nodes_without_flops: int  # main graph nodes with no estimate
    node_flops: list[NodeFlops] = field(default_factory=list)
    flops_by_op: dict[str, int] = field(default_factory=dict)
    memory: MemoryPlan | None = None  # None when the graph cannot be ordered


def model_stats(graph: Graph, input_shapes: dict[str, tuple[int, ...]] | None = None) -> ModelStats:
    """Counts ops, parameters and estimated FLOPs of a graph (shapes from infer_shapes).

    input_shapes overrides the declared shapes of graph inputs (e.g. to fix a dynamic batch).
    """
    fixed = graph
    if input_shapes:
        inputs = [
            Value(v.name, v.dtype, tuple(input_shapes[v.name]), v.kind)
            if v.name in input_shapes
            else v
            for v in graph.inputs
        ]
        fixed = dataclasses.replace(graph, inputs=inputs)
    values = infer_shapes(fixed)
    histogram: dict[str, int] = {}
    params = param_bytes = 0
    node_flops: list[NodeFlops] = []
    for g in _graphs(graph):
        for arr in g.initializers.values():
            params, param_bytes = params + _size(arr), param_bytes + _nbytes(arr)
    for g, node in graph.walk():
        key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        histogram[key] = histogram.get(key, 0) + 1
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            tensor = _constant_tensor(node)
            if tensor is not None:
                params, param_bytes = params + _size(tensor), param_bytes + _nbytes(tensor)
        flops = node_flops_estimate(node, lambda name: _static_shape(values.get(name)))
        node_flops.append(NodeFlops(g.name, node.name, key, flops, g is not graph))
    main = [f for f in node_flops if not f.in_subgraph]
    try:
        memory: MemoryPlan | None = plan_memory(fixed, values=values)
    except GossamerError:
        memory = None
    by_op: dict[str, int] = {}
    for f in main:
        by_op[f.op_type] = by_op.get(f.op_type, 0) + (f.flops or 0)
    return ModelStats(
        graph_name=graph.name,
        op_histogram=dict(sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0]))),
        num_nodes=len(main),
        num_subgraph_nodes=len(node_flops) - len(main),
        param_count=params,
        param_bytes=param_bytes,
        total_flops=sum(f.flops or 0 for f in main),
        nodes_without_flops=sum(f.flops is None for f in main),
        node_flops=node_flops,
        flops_by_op=by_op,
        memory=memory,
    )


def _graphs(graph: Graph) -> list[Graph]:
    out = [graph]
    for node in graph.nodes:
        for sub in node.subgraphs():
            out.extend(_graphs(sub))
    return out


def _size(arr: Any) -> int:
    return int(np.asarray(arr).size)


def _nbytes(arr: Any) -> int:
    arr = np.asarray(arr)
    if arr.dtype == object:
        return sum(len(str(s).encode("utf-8")) for s in arr.flat)
    return int(arr.nbytes)


def _constant_tensor(node: Node) -> np.ndarray | None:
    a = node.attrs
    for key in ("value", "sparse_value"):
        if isinstance(a.get(key), np.ndarray):
            return a[key]
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):  # fmt: skip
        if key in a:
            return np.asarray(a[key], dtype=dtype)
    for key in ("value_string", "value_strings"):
        if key in a:
            return np.asarray(a[key], dtype=object)
    return None


def _static_shape(v: Value | None) -> tuple[int, ...] | None:
    if v is None or v.shape is None or not all(isinstance(d, int) for d in v.shape):
        return None
    return tuple(int(d) for d in v.shape)  # type: ignore[arg-type]


# ---- per-op FLOP formulas --------------------------------------------------------------------
_FREE = set(
    "Reshape Transpose Concat Split Slice Gather GatherElements GatherND Squeeze Unsqueeze Flatten "
    "Expand Tile Pad Identity Shape Size Constant ConstantOfShape Cast CastLike Dropout "
    "DepthToSpace SpaceToDepth ScatterND ScatterElements Scatter Range NonZero EyeLike "
    "OneHot Compress Trilu SequenceConstruct SequenceAt SequenceEmpty SequenceInsert "
    "SequenceErase SequenceLength SplitToSequence ConcatFromSequence Optional OptionalGetElement "
    "OptionalHasElement CenterCropPad ReverseSequence".split()
)
_ELEMENTWISE = set(
    "Abs Acos Acosh Asin Asinh Atan Atanh Ceil Celu Clip Cos Cosh Elu Erf Exp Floor Gelu "
    "HardSigmoid HardSwish LeakyRelu Log Mish Neg Reciprocal Relu Round Selu Shrink Sigmoid Sign "
    "Sin Sinh Softplus Softsign Sqrt Tan Tanh ThresholdedRelu BitwiseNot Not IsNaN IsInf Add Sub "
    "Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor Max Min Sum Mean PRelu Equal Less "
    "Greater LessOrEqual GreaterOrEqual And Or Xor Where QuantizeLinear DequantizeLinear "
    "DynamicQuantizeLinear QLinearAdd QLinearMul QLinearSigmoid QLinearLeakyRelu FastGelu "
    "BiasGelu QuickGelu Swish CumSum Resize Upsample".split()
    + "Logistic Quantize Requantize Dequantize ResizeBilinear ConcatenationRescale".split()
)
_PER_ELEMENT = {  # FLOPs per output element
    "BatchNormalization": 2, "InstanceNormalization": 5, "LayerNormalization": 5,
    "GroupNormalization": 5, "MeanVarianceNormalization": 5, "LpNormalization": 3, "LRN": 5,
    "SkipLayerNormalization": 6, "SimplifiedLayerNormalization": 4,
    "Softmax": 3, "LogSoftmax": 3, "Hardmax": 1, "QLinearSoftmax": 3,
}  # fmt: skip
_REDUCE = set(
    "ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum "
    "ReduceLogSumExp ReduceSumSquare ArgMax ArgMin TopK GlobalAveragePool GlobalMaxPool "
    "GlobalLpPool QLinearGlobalAveragePool NchwcGlobalAveragePool".split()
)


def _numel(shape: tuple[int, ...] | None) -> int | None:
    return None if shape is None else math.prod(shape)


def node_flops_estimate(node: Node, shape: Shapes) -> int | None:
    """Estimated FLOPs of one node, None when its shapes are unknown or the op has no formula."""
    op = node.op_type
    ins = [shape(i) if i else None for i in node.inputs]
    out = shape(node.outputs[0]) if node.outputs and node.outputs[0] else None
    if op in _FREE:
        return 0
    if op in _ELEMENTWISE:
        return _numel(out)
    if op in _PER_ELEMENT:
        n = _numel(out)
        return None if n is None else n * _PER_ELEMENT[op]
    if op in _REDUCE:
        return _numel(ins[0] if ins else None)
    rule = _FORMULAS.get(op)
    return rule(node, ins, out) if rule is not None else None


def _conv(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    w = ins[3] if node.op_type == "QLinearConv" else ins[1] if len(ins) > 1 else None
    if out is None or w is None:
        return None
    return 2 * math.prod(out) * math.prod(w[1:])


def _conv_max_pool(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    """The conv's FLOPs on the result the pool reads (its window on the input) and the pool's."""
    from .shape_inference.rules_nn import _window_dims

    x, w = ins[0], ins[1] if len(ins) > 1 else None
    if out is None or x is None or w is None or len(x) < 4:
        return None
    plane = x[2:4]
    conv = _window_dims(node, plane, node.attrs.get("kernel_shape") or list(w[2:]))
    if not all(isinstance(d, int) for d in conv):
        return None
    m = w[0]
    return 2 * out[0] * m * math.prod(conv) * math.prod(w[1:]) + math.prod(out) * math.prod(
        node.attrs.get("pool_kernel_shape") or [1]
    )


def _depthwise_pointwise(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    """The depthwise conv's FLOPs and the 1x1 conv's, both on the output plane."""
    w, pw = ins[1] if len(ins) > 1 else None, ins[3] if len(ins) > 3 else None
    if out is None or w is None or pw is None or len(out) < 4:
        return None
    pixels = out[0] * math.prod(out[2:-1])
    return 2 * pixels * (w[0] * math.prod(w[1:]) + pw[0] * pw[1])


def _conv_transpose(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    x, w = ins[0], ins[1] if len(ins) > 1 else None
    if x is None or w is None:
        return None
    return 2 * math.prod(x) * math.prod(w[1:])


def _matmul(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    a = ins[0]
    if out is None or a is None or not a:
        return None
    return 2 * math.prod(out) * a[-1]


def _gemm(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    a = ins[0]
    if out is None or a is None or len(a) != 2:
        return None
    k = a[0] if node.attrs.get("transA", 0) else a[1]
    return 2 * math.prod(out) * k


def _pool(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    kernel = node.attrs.get("kernel_shape")
    if out is None or not kernel:
        return None
    return math.prod(out) * math.prod(kernel)


def _recurrent(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    x, w, r = (ins + [None, None, None])[:3]
    if x is None or w is None or r is None or len(x) != 3:
        return None
    seq, batch = (x[1], x[0]) if node.attrs.get("layout", 0) else (x[0], x[1])
    return 2 * seq * batch * (math.prod(w) + math.prod(r))


def _einsum(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    lhs = str(node.attrs.get("equation", "")).replace(" ", "").split("->")[0]
    if "..." in lhs or any(s is None for s in ins):
        return None
    sizes: dict[str, int] = {}
    for term, s in zip(lhs.split(","), ins):
        sizes.update(zip(term, s))
    return (2 if len(ins) > 1 else 1) * math.prod(sizes.values())


def _tflite_product(node: Node, ins: list, out: tuple[int, ...] | None) -> int | None:
    """tflite::Conv2D / DepthwiseConv2D / FullyConnected / TransposeConv2D (weights: input 3)."""
    w = ins[3] if len(ins) > 3 else None
    if out is None or w is None or ins[0] is None:
        return None
    if node.op_type == "TransposeConv2D":
        return 2 * math.prod(ins[0]) * math.prod(w[:3])
    taps = w[1] * w[2] if node.op_type == "DepthwiseConv2D" else math.prod(w[1:])
    return 2 * math.prod(out) * taps


_FORMULAS: dict[str, Callable[[Node, list, Any], int | None]] = {
    "Conv": _conv, "ConvInteger": _conv, "QLinearConv": _conv, "FusedConv": _conv,
    "NchwcConv": _conv,  # a blocked output has the NCHW one's element count
    "ConvTranspose": _conv_transpose,
    "MatMul": _matmul, "MatMulInteger": _matmul, "FusedMatMul": _matmul,
    "MatMulIntegerToFloat": _matmul, "Gemm": _gemm,
    "QLinearMatMul": lambda n, ins, out: _matmul(n, ins[:1], out),
    "MaxPool": _pool, "AveragePool": _pool, "LpPool": _pool, "QLinearAveragePool": _pool,
    "NchwcMaxPool": _pool,
    "NchwcConvMaxPool": _conv_max_pool,
    "NchwcDepthwisePointwise": _depthwise_pointwise,
    "LSTM": _recurrent, "GRU": _recurrent, "RNN": _recurrent, "Einsum": _einsum,
    # TFLite's integer ops (domain tflite, NHWC)
    "Conv2D": _tflite_product, "DepthwiseConv2D": _tflite_product,
    "FullyConnected": _tflite_product, "TransposeConv2D": _tflite_product,
    "AveragePool2D": _pool, "MaxPool2D": _pool,
}  # fmt: skip


# ---- report ----------------------------------------------------------------------------------
def _human(n: float, unit: str = "") -> str:
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{n:.0f} {unit}".rstrip()


def _human_bytes(n: int) -> str:
    for scale, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{n} B"


def _memory_lines(plan: MemoryPlan | None) -> list[str]:
    if plan is None:
        return []
    dynamic = sum(not r.startswith(("Constant", "computed")) for r in plan.unplanned.values())
    lines = []
    if plan.tensors:
        lines += [
            f"memory:      arena {_human_bytes(plan.arena_bytes)} vs "
            f"{_human_bytes(plan.sum_of_intermediates_bytes)} for all {len(plan.tensors)} "
            f"intermediates (peak live {_human_bytes(plan.peak_live_bytes)}: the lower bound)",
            f"             {plan.num_inplace} computed in place, {plan.num_views} views "
            "(share their input's buffer)"
            + (f", {plan.num_parts} written into their Concat's output" if plan.num_parts else ""),
        ]
    if dynamic:
        head = "             " if plan.tensors else "memory:      "
        lines.append(f"{head}{dynamic} intermediate(s) of dynamic size not planned")
    return lines


def format_stats(stats: ModelStats) -> str:
    """A human-readable summary and per-op-type table (what `gossamer info` prints)."""
    sub = f" (+{stats.num_subgraph_nodes} in subgraphs)" if stats.num_subgraph_nodes else ""
    counted = f"{_human(stats.total_flops, 'FLOP')} ({stats.total_flops:,})"
    if stats.nodes_without_flops:  # a partial sum is a lower bound, and 0 means "unknown"
        missing = f"{stats.nodes_without_flops} node(s) without a FLOP estimate"
        counted = f"at least {counted}; {missing}" if stats.total_flops else f"unknown ({missing})"
    lines = [
        f"model:       {stats.graph_name}",
        f"nodes:       {stats.num_nodes}{sub}",
        f"parameters:  {stats.param_count:,} ({_human_bytes(stats.param_bytes)})",
        f"FLOPs:       {counted}",
        *_memory_lines(stats.memory),
        "",
        f"{'op type':<28} {'count':>7} {'FLOPs':>14} {'share':>7}",
        f"{'-' * 28} {'-' * 7} {'-' * 14} {'-' * 7}",
    ]
    total = stats.total_flops or 1
    unknown_by_op: dict[str, int] = {}
    for f in stats.node_flops:
        if f.flops is None and not f.in_subgraph:
            unknown_by_op[f.op_type] = unknown_by_op.get(f.op_type, 0) + 1
    for op, count in stats.op_histogram.items():
        flops = stats.flops_by_op.get(op, 0)
        share = f"{100 * flops / total:6.1f}%" if stats.total_flops else "      -"
        cell = _human(flops, "FLOP")
        if unknown_by_op.get(op):  # "?" when no node of this type has an estimate
            cell, share = (f">={cell}" if flops else "?"), "      -"
        lines.append(f"{op:<28} {count:>7} {cell:>14} {share:>7}")
    unknown = sorted({f.op_type for f in stats.node_flops if f.flops is None and not f.in_subgraph})
    if unknown:
        lines += ["", "no FLOP estimate for: " + ", ".join(unknown)]
    return "\n".join(lines)
