"""Channel equalisation: per-tensor activation scales waste codes on the input channels of a
Conv/MatMul whose ranges differ widely (a depthwise convolution's channels often span 10x or more,
and the small ones are then quantised with a handful of levels). The input X is rescaled per
channel, X' = X * s, and the weights' input channels take 1 / s, so the float model computes the
same function (up to float rounding) while X' has nearly equal channel ranges:

- depthwise Conv (one input channel per group): s = R / r, r the channel's largest |X| on the
  calibration data and R the largest r: every channel uses the whole code range; the weights are
  per output channel, so their quantisation does not change;
- other Conv and MatMul (2-D constant weight): s = sqrt(w / r) (SmoothQuant with alpha 0.5, w the
  largest |weight| reading the channel), which splits the range disparity between the
  activation and the weights.

How X absorbs s: when X comes straight from a Conv (or a Conv then Relu) that only feeds this op,
that Conv's output channels are scaled (cross-layer equalisation, exact: Relu(s z) = s Relu(z) for
s > 0); when X is made by ops that stay float (HardSwish, LayerNormalization, a float affine after
them), a float Mul(X, s) is put before the op, which the quantiser leaves float (its input is not
quantised), so it only moves where X is rounded. Nothing changes where X comes from a quantised op
otherwise, or where the channel ranges are already close (largest / median below MIN_SPREAD).
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node
from ..optimizer.rewrite import GraphView, drop_unused_initializers
from .calibration_data import CalibrationData
from .plan import DATA_MOVEMENT, QUANTIZABLE
from .runner import OutputTap, Runner, feeds_with_progress

MIN_SPREAD = 2.0  # largest / median channel range below which X is left as it is
MAX_SCALE = 1e3  # bound on any one channel's factor (a nearly dead channel stays near 1)


def equalize_channels(
    graph: Graph,
    data: CalibrationData,
    *,
    runner: Runner,
    skip: set[str] = frozenset(),  # type: ignore[assignment]
    progress: bool = False,
    batch: int = 8,
) -> list[str]:
    """Rewrites `graph` (float, prepared) in place; returns one line per equalised op."""
    view = GraphView(graph)
    targets = [n for n in graph.topological_nodes() if _target(n, view, skip)]
    if not targets:
        return []
    ranges = _channel_ranges(graph, data, {n.inputs[0] for n in targets}, runner, progress, batch)
    changes: list[str] = []
    for node in targets:
        r = ranges.get(node.inputs[0])
        w = view.constant(node.inputs[1])
        if r is None or w is None or not np.all(np.isfinite(r)) or r.size < 2:
            continue
        depthwise = node.op_type == "Conv" and w.shape[1] == 1 and _groups(node) > 1
        w_in = _weight_per_input(node, w, r.size)
        if w_in is None or float(r.max()) < MIN_SPREAD * float(np.median(r)):
            continue
        live = (r > 0) & (w_in > 0)
        s = np.ones(r.size)
        if depthwise:
            s[live] = r.max() / r[live]
        else:
            s[live] = np.sqrt(w_in[live] / r[live])
            s *= r.max() / (r * s)[live].max()  # the widest channel keeps its range
        s = np.clip(s, 1.0 / MAX_SCALE, MAX_SCALE)
        how = _absorb(view, node, s)
        if how is None:
            continue
        _scale_weight_inputs(view, node, w, 1.0 / s)
        changes.append(f"{node.name}: {r.size} input channels equalised ({how})")
    if changes:
        drop_unused_initializers(graph)
    return changes


def _target(node: Node, view: GraphView, skip: set[str]) -> bool:
    if node.name in skip or node.domain not in ("", "ai.onnx") or len(node.inputs) < 2:
        return False
    w = view.constant(node.inputs[1])
    if w is None or w.dtype != np.float32:
        return False
    if node.op_type == "Conv":
        return w.ndim >= 3
    return node.op_type == "MatMul" and w.ndim == 2


def _groups(node: Node) -> int:
    return int(node.attrs.get("group", 1))


def _channel_ranges(
    graph: Graph,
    data: CalibrationData,
    names: set[str],
    runner: Runner,
    progress: bool,
    batch: int,
) -> dict[str, np.ndarray]:
    """Largest |value| per channel (axis 1 of a 4-D / Conv input, else the last) of each tensor."""
    found: dict[str, np.ndarray] = {}

    def sink(name: str, value: np.ndarray) -> None:
        if value.dtype.kind != "f" or value.ndim < 2:
            return
        axis = 1 if value.ndim >= 3 and name in conv_inputs else value.ndim - 1
        others = tuple(i for i in range(value.ndim) if i != axis)
        m = np.abs(value).max(axis=others).astype(np.float64)
        found[name] = np.maximum(found[name], m) if name in found else m

    conv_inputs = {n.inputs[0] for n in graph.nodes if n.op_type == "Conv"}
    run = runner(graph)
    for feed in feeds_with_progress(data, batch, "equalising channels", progress):
        for name, value in feed.items():
            if name in names:
                sink(name, value)
        run(feed, [OutputTap(names, sink)])
    return found


def _weight_per_input(node: Node, w: np.ndarray, channels: int) -> np.ndarray | None:
    """Largest |weight| reading each input channel, or None where the layout does not fit."""
    a = np.abs(w.astype(np.float64))
    if node.op_type == "MatMul":
        return a.max(axis=1) if w.shape[0] == channels else None
    groups = _groups(node)
    per_group_in = w.shape[1]
    if per_group_in * groups != channels or w.shape[0] % groups:
        return None
    out_per_group = w.shape[0] // groups
    m = a.reshape(groups, out_per_group, per_group_in, -1).max(axis=(1, 3))  # (groups, in/group)
    return m.reshape(-1)


def _scale_weight_inputs(view: GraphView, node: Node, w: np.ndarray, k: np.ndarray) -> None:
    """W's input channels multiplied by k (one factor per input channel of the op)."""
    w64 = w.astype(np.float64)
    if node.op_type == "MatMul":
        new = w64 * k[:, None]
    else:
        groups, per_group_in = _groups(node), w.shape[1]
        out_per_group = w.shape[0] // groups
        kk = k.reshape(groups, 1, per_group_in)
        shape = (groups, out_per_group, per_group_in) + w.shape[2:]
        new = (w64.reshape(shape) * kk.reshape(kk.shape + (1,) * (w.ndim - 2))).reshape(w.shape)
    name = view.add_initializer(f"{node.inputs[1]}_equalized", new.astype(w.dtype))
    view.set_input(node, 1, name)


def _absorb(view: GraphView, node: Node, s: np.ndarray) -> str | None:
    """Makes the op's input X carry the factor s; how, or None where it cannot."""
    x = node.inputs[0]
    if view.sole_consumer(x) is node:
        conv, relu = _conv_before(view, x)
        if conv is not None:
            w = view.constant(conv.inputs[1])
            has_b = len(conv.inputs) > 2 and bool(conv.inputs[2])
            b = view.constant(conv.inputs[2]) if has_b else None
            if w is not None and w.shape[0] == s.size and (b is not None or not has_b):
                shape = (-1,) + (1,) * (w.ndim - 1)
                w_new = (w.astype(np.float64) * s.reshape(shape)).astype(w.dtype)
                view.set_input(conv, 1, view.add_initializer(f"{conv.inputs[1]}_eq", w_new))
                if b is not None:
                    b_new = (b.astype(np.float64).reshape(-1) * s).astype(b.dtype)
                    view.set_input(conv, 2, view.add_initializer(f"{conv.inputs[2]}_eq", b_new))
                return f"into {conv.name}" + (" through Relu" if relu else "")
    if not _made_float(view, x):
        return None
    rank = view.constant(node.inputs[1]).ndim  # type: ignore[union-attr]
    shape = (s.size,) + (1,) * (rank - 2) if node.op_type == "Conv" else (s.size,)
    s_name = view.add_initializer(
        f"{node.name}_equalize_scale", s.astype(np.float32).reshape(shape)
    )
    out = view.fresh(f"{x}_equalized")
    mul = Node("Mul", [x, s_name], [out], {}, view.fresh(f"{node.name}_equalize"))
    view.replace([], [mul])
    _move_before(view.graph, mul, node)
    view.set_input(node, 0, out)
    return "float Mul before it"


def _conv_before(view: GraphView, x: str) -> tuple[Node | None, bool]:
    relu = view.producer_of(x, "Relu")
    if relu is not None:
        inner = relu.inputs[0]
        conv = view.producer_of(inner, "Conv")
        if conv is not None and view.sole_consumer(inner) is relu:
            return conv, True
        return None, False
    return view.producer_of(x, "Conv"), False


def _made_float(view: GraphView, x: str) -> bool:
    """X comes from a graph input or an op the quantiser leaves float (looking through data
    movement and through Add/Mul of a constant, which stay float on a float input)."""
    seen = 0
    while seen < 64:
        node = view.producer.get(x)
        if node is None:
            return x not in view.graph.initializers
        seen += 1
        if node.op_type in DATA_MOVEMENT:
            x = node.inputs[0]
            continue
        if node.op_type in ("Add", "Mul") and len(node.inputs) == 2:
            consts = [i for i in node.inputs if view.constant(i) is not None]
            if len(consts) == 1:
                x = next(i for i in node.inputs if i not in consts)
                continue
        return node.op_type not in QUANTIZABLE and node.op_type not in ("Relu", "Clip")
    return False


def _move_before(graph: Graph, node: Node, before: Node) -> None:
    nodes = [n for n in graph.nodes if n is not node]
    at = next(i for i, n in enumerate(nodes) if n is before)
    graph.nodes[:] = nodes[:at] + [node] + nodes[at:]
