"""Blocked channel layout for CPU kernels (O3, run by gossamer.load when the cython backend is
selected; not part of the backend-neutral pipeline).

Plans chains of convolutions that run in NCHW8c, (N, C/8, H, W, 8), whose vector is eight
channels of one pixel (onnxruntime's NchwcTransformer does the same for its CPU kernels):
- a Conv / FusedConv (2-D, constant weights, float32, output channels a multiple of 8, activation
  one the blocked epilogue computes: EPILOGUE_ACTIVATIONS, no PRelu slope) that is 1x1,
  depthwise, or a stem (at most STEM_MAX_CIN input channels) becomes gossamer::NchwcConv,
  writing a blocked output; a group-1 conv reads its input as it comes (NCHW from outside a
  chain, blocked inside one), a depthwise conv only a blocked input; wider k x k convs keep NCHW
  (Winograd, im2col GEMM);
- a constant Mul and then a constant Add (scalars or one value per channel) that alone read a
  blocked conv's result become that NchwcConv's scale and shift (the epilogue applies them after
  the activation, each rounded as the graph's ops);
- an element-wise op of blocked values (unary with scalar parameters; binary of two blocked values
  whose NCHW shapes have the same channels and broadcast to the result, such as a
  squeeze-and-excitation Mul by a blocked (N, C, 1, 1); or with a scalar) runs unchanged on the
  blocked values, and so does a Concat along the channels of blocked values (each C a multiple
  of 8: axis 1 of (N, C/8, H, W, 8) is the blocks' axis; a part from outside the chain, C a
  multiple of 8 too, is reordered in) and a Split along the channels into parts of whole blocks
  (the same Split of the blocked value, its parts' C/8 given): YOLOv8's C2f blocks (a Split in
  halves, the bottleneck's Add of a half, the Concat of the halves) stay one chain;
- a 2-D MaxPool of a blocked value (no Indices output) becomes gossamer::NchwcMaxPool, blocked
  in and out (SqueezeNet's MaxPools no longer cut its chain);
- an NchwcConv whose result only an NchwcMaxPool reads becomes one gossamer::NchwcConvMaxPool
  (_fuse_conv_max_pools);
- with GOSSAMER_NCHWC_DWPW=1 (off by default: dwpw_enabled), a depthwise NchwcConv whose result
  only a 1x1 NchwcConv reads (MobileNetV2's depthwise conv and projection) becomes one
  gossamer::NchwcDepthwisePointwise (_fuse_depthwise_pointwise);
- a residual z from outside the chain is blocked by a gossamer::NchwcReorderInput;
- a GlobalAveragePool of a blocked value becomes gossamer::NchwcGlobalAveragePool (which writes
  NCHW, ending the chain); a Flatten and a Gemm by constant weights after it (a classifier head)
  become a 1x1 NchwcConv on its one pixel, between two Reshapes;
- every other reader of a blocked value reads it through one gossamer::NchwcReorderOutput, which
  keeps the value's name, so graph outputs and the rest of the graph are unchanged.
Only chains (nodes joined by blocked values) with a depthwise conv and another conv are kept:
the depthwise conv is what NCHW vectorises badly on small planes; 1x1-only chains were about as
fast as NCHW's packed GEMM on AVX2 and would pay for their reorders. The wide pass (run's wide:
gossamer.layout_planning asks for it with the AVX-512 kernels) keeps chains of two or more convs
without one too, and of a chain it refuses a stem with the MaxPool after it (one
NchwcConvMaxPool and one reorder of the pooled plane: ResNet-18's, ResNet-50's; _stem_and_pool),
and blocks group-1 k x k convs with more input channels than a stem's (a multiple of 8; their
NCHW input reordered in) unless NCHW's Winograd would be the faster (_winograd_keeps; a strided
one of STRIDED_MIN_CIN or more input channels keeps NCHW's GEMM).
Channel counts must be known; batch and spatial dims may be symbolic: the plan depends on the
plane only where Winograd's tiles do, and an unknown plane keeps NCHW there (nudenet's input is
(batch, 3, height, width); its 3x3 convs of 64-128 channels on 10x10-40x40 planes all ran as
fast or faster in NCHW, benchmarks/results/nchwc_layout.md, Session 21). The plan is recorded
in graph.metadata["gossamer.layout"] (JSON), which `gossamer info` prints.
GOSSAMER_BLOCKED_LAYOUT=0 turns the pass off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np

from ...refimpl.ir import Graph, Node, Value
from ...refimpl.shape_inference import infer_shapes
from .rewrite import (
    GOSSAMER_DOMAIN,
    GraphView,
    copy_graph,
    drop_unused_initializers,
    live_value_info,
    use_gossamer_domain,
)

NAME = "channel_blocking"
LEVEL = 3
BLOCK = 8
METADATA_KEY = "gossamer.layout"
_CONV_ATTRS = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
_POOL_ATTRS = ("auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides")
# a group-1 conv with a kernel larger than 1x1 and this few input channels (a network's stem) runs
# blocked reading its NCHW input as it comes; wider ones run blocked (their input reordered in
# where it comes from outside the chain) only where the pass is wide (`run`'s wide: the AVX-512
# kernels, where it was measured) and NCHW's Winograd would not be the faster (_winograd_keeps)
STEM_MAX_CIN = 8
# a 3x3 stride-1 conv keeps NCHW's Winograd F(4x4) from this many input channels on where its
# 4x4 output tiles are at least WINOGRAD_MIN_FILL full (ResNet-18's 3x3 convs on 56x56, 28x28
# and 14x14: 1.0-1.8x faster than the blocked direct conv, in the model, AVX-512); with fewer
# channels (SqueezeNet's 16 and 32), on 7x7 (no F(4x4)) or 13x13 planes (tiles 66 % full) the
# blocked conv is as fast or faster (benchmarks/results/nchwc_layout.md, Session 19)
WINOGRAD_MIN_CIN = 64
WINOGRAD_MIN_FILL = 0.75
# a strided k x k conv keeps NCHW's im2col GEMM from this many input channels on, whatever its
# plane (nudenet's 3x3 s2 convs of 64 -> 128 on 40x40 and 128 -> 128 on 20x20: 1.17-1.19x the
# GEMM's time blocked, 64 -> 64 alike; 32 -> 64 0.88x; ResNet's 256 -> 512: 1.3x)
STRIDED_MIN_CIN = 64
# nor with more weight bytes than this: ResNet's 3x3 convs of 256 -> 512 and 512 -> 512
# channels on 7x7 (4.7 and 9.4 MB) took 1.3-1.4x the im2col GEMM's time in the model (the
# weights of each group of output blocks streamed from memory for one row of the small plane)
WIDE_MAX_WEIGHT_BYTES = 1 << 20
# a chain is blocked only if it needs at most one reorder per this many convs
MAX_CONVS_PER_REORDER = 4
_UNARY = {"Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh", "Elu",
          "Selu", "Softplus", "Abs", "Neg", "Identity"}  # fmt: skip
_GOSSAMER_UNARY = {"HardSwish", "Swish", "Gelu"}
_BINARY = {"Add", "Sub", "Mul", "Max", "Min"}
# fused activations the blocked conv's epilogue computes (cython_kernels/nchwc_kernels.py)
EPILOGUE_ACTIVATIONS = ("", "Relu", "Clip", "HardSwish", "LeakyRelu", "HardSigmoid", "Sigmoid",
                        "Swish")  # fmt: skip
CONV_KINDS = ("conv", "depthwise")
KeepNchw = Callable[[Node, dict[str, Value]], bool]


def enabled() -> bool:
    return os.environ.get("GOSSAMER_BLOCKED_LAYOUT", "1").strip() != "0"


def dwpw_enabled() -> bool:
    """Whether depthwise + 1x1 pairs become NchwcDepthwisePointwise (GOSSAMER_NCHWC_DWPW=1; off by
    default: on MobileNetV2 its per-node gain at 2 threads did not reach whole runs,
    benchmarks/results/nchwc_layout.md Session 30)."""
    return os.environ.get("GOSSAMER_NCHWC_DWPW", "0").strip() == "1"


def run(graph: Graph, keep_nchw: KeepNchw | None = None, wide: bool = False) -> list[str]:
    """Rewrites `graph` in place; returns one line per blocked chain. `keep_nchw(node, values)`:
    whether a conv the pass could block stays NCHW (another backend runs it: precision="bf16"'s
    convs; the chains are planned around it). `wide`: also group-1 k x k convs of more than
    STEM_MAX_CIN input channels (where Winograd would not keep them, _winograd_keeps), and
    chains without a depthwise conv (gossamer.layout_planning: with the AVX-512 kernels)."""
    view = GraphView(graph)
    values = infer_shapes(graph)
    plan = _plan(graph, view, values, keep_nchw, wide)
    if not plan:
        return []
    chains = []
    for chain in _chains(plan, view):
        if _worth_it(chain, plan, view, wide):
            chains.append(chain)
        elif wide and (stem := _stem_and_pool(chain, plan, view)):
            chains.append(stem)  # ResNet-18's (the whole chain) and ResNet-50's (split off)
    blocked = {name: plan[name] for chain in chains for name in chain}
    if not blocked:
        return []
    reorders = _rewrite(graph, view, blocked, values)
    drop_unused_initializers(graph)  # a classifier's Gemm weights, now the 1x1 conv's
    use_gossamer_domain(graph)
    graph.nodes[:] = graph.topological_nodes()
    graph.value_info = live_value_info(graph)
    convs = [sorted(n for n in c if plan[n] in CONV_KINDS) for c in chains]
    graph.metadata[METADATA_KEY] = json.dumps(
        {
            "layout": f"NCHW{BLOCK}c",
            "chains": len(chains),
            "nodes": sum(map(len, convs)),
            "reorders": reorders,
            "fused_depthwise_pointwise": sum(
                n.op_type == "NchwcDepthwisePointwise" for n in graph.nodes
            ),
        }  # fmt: skip
    )
    return [f"NCHW{BLOCK}c chain of {len(c)} convs from {c[0]}" for c in convs]


def _worth_it(chain: set[str], plan: dict[str, str], view: GraphView, wide: bool = False) -> bool:
    """A chain pays for its reorders when it has a depthwise conv (which NCHW vectorises badly
    on small planes; `wide`: or not), another conv, and few reorders (at most one per
    MAX_CONVS_PER_REORDER convs: a chain cut short by ops it cannot carry, Pad say, costs more
    than it saves). Without `wide`, 1x1-only chains stay NCHW: on AVX2 they were about as fast
    as NCHW's packed GEMM. A refused chain may still have its stem and MaxPool run blocked
    (_stem_and_pool)."""
    kinds = [plan[n] for n in chain]
    convs = sum(k in CONV_KINDS for k in kinds)
    if ("depthwise" not in kinds and not wide) or convs < 2:
        return False
    return _reorders(chain, view) * MAX_CONVS_PER_REORDER <= convs


def _stem_and_pool(chain: set[str], plan: dict[str, str], view: GraphView) -> set[str]:
    """A refused chain's stem (a k x k conv of at most STEM_MAX_CIN input channels: it reads its
    NCHW input as it comes) and the MaxPool that alone reads it, as a chain of their own, where
    that needs one reorder, of the pooled plane (else empty). They run as one NchwcConvMaxPool
    (output channels in the vector, the pool on the conv's rows while they are in cache) and one
    reorder a quarter of the conv's plane: ResNet-18's 7x7 s2 conv and 3x3 s2 pool (their chain
    is just the pair) 2367 -> 1974 us at 1 thread, 1304 -> 1064 at 2 (with the vectorised
    reorder: benchmarks/results/nchwc_layout.md, Session 25). ResNet-50's join its 1x1 convs
    through the pooled plane and the residual Adds, a chain of 37 convs and 16 reorders that
    _worth_it refuses: split off, they run as ResNet-18's do."""
    for node in view.graph.nodes:
        if node.name not in chain or plan[node.name] != "conv":
            continue
        readers = view.consumers.get(node.outputs[0], [])
        if len(readers) != 1 or plan.get(readers[0].name) != "maxpool":
            continue
        w = view.constant(node.inputs[1])
        if w is None or w.shape[2:] == (1, 1) or w.shape[1] > STEM_MAX_CIN:
            continue
        pair = {node.name, readers[0].name}
        return pair if _reorders(pair, view) == 1 else set()
    return set()


def _reorders(chain: set[str], view: GraphView) -> int:
    """The reorders blocking `chain` would add: blocked values read outside it (a
    GlobalAveragePool aside), residuals from outside and the NCHW inputs of its wide k x k
    convs (_reordered_inputs), each value once."""
    nodes = {n.name: n for n in view.graph.nodes if n.name in chain}
    count = 0
    ins: set[str] = set()
    for name in chain:
        node = nodes[name]
        for out in node.outputs if node.op_type == "Split" else node.outputs[:1]:
            readers = [r for r in view.consumers.get(out, []) if r.name not in chain]
            if out in view.outputs or any(not _is_global_average(r) for r in readers):
                count += 1
        if node.op_type == "Concat":
            ins.update(i for i in node.inputs if _outside(i, chain, view))
        z = node.inputs[4] if node.op_type == "FusedConv" and len(node.inputs) > 4 else ""
        producer = view.producer.get(z) if z else None
        if z and (producer is None or producer.name not in chain):
            ins.add(z)
    return count + len(ins | _reordered_inputs(list(nodes.values()), chain, view))


def _outside(name: str, chain: set[str], view: GraphView) -> bool:
    """Whether `name` comes from outside `chain` (a graph input, a node not in it)."""
    producer = view.producer.get(name)
    return producer is None or producer.name not in chain


def _wide_kxk(node: Node, view: GraphView) -> bool:
    """A group-1 conv with a kernel larger than 1x1 and more than STEM_MAX_CIN input channels
    (blocked only by a wide pass)."""
    w = view.constant(node.inputs[1]) if len(node.inputs) > 1 else None
    return (
        w is not None and w.ndim == 4 and w.shape[2:] != (1, 1) and w.shape[1] > STEM_MAX_CIN
        and int(node.attrs.get("group", 1)) == 1
    )  # fmt: skip


def _reordered_inputs(nodes: list[Node], chain: set[str], view: GraphView) -> set[str]:
    """The NCHW values (from outside the chain) that the chain's wide k x k convs read blocked
    (their kernel would read an NCHW input channel by channel, 8 taps per broadcast fewer); a
    1x1 conv of the chain reading such a value reads the same blocked copy (_rewrite)."""

    def outside(name: str) -> bool:
        producer = view.producer.get(name)
        return producer is None or producer.name not in chain

    convs = [n for n in nodes if n.op_type in ("Conv", "FusedConv") and n.inputs]
    return {n.inputs[0] for n in convs if _wide_kxk(n, view) and outside(n.inputs[0])}


def _conv_ok(
    node: Node, view: GraphView, values: dict[str, Value], wide: bool = False
) -> str | None:
    """'conv' or 'depthwise' if the node can run blocked (input layout aside), else None; `wide`:
    as run's."""
    if node.op_type == "Conv" and node.domain in ("", "ai.onnx"):
        activation, slope, z = "", "", ""
    elif node.op_type == "FusedConv" and node.domain == GOSSAMER_DOMAIN:
        activation = str(node.attrs.get("activation", ""))
        slope = node.inputs[3] if len(node.inputs) > 3 else ""
        z = node.inputs[4] if len(node.inputs) > 4 else ""
    else:
        return None
    if activation not in EPILOGUE_ACTIVATIONS or slope:
        return None
    w = view.constant(node.inputs[1]) if len(node.inputs) > 1 else None
    x = values.get(node.inputs[0])
    y = values.get(node.outputs[0])
    if w is None or w.ndim != 4 or x is None or x.shape is None or len(x.shape) != 4:
        return None
    if x.dtype != "float32" or y is None or y.dtype != "float32" or w.shape[0] % BLOCK:
        return None
    if z and not _known_channels(values.get(z), w.shape[0]):
        return None
    c, group = x.shape[1], int(node.attrs.get("group", 1))
    if not isinstance(c, int):
        return None
    if group == 1 and c == w.shape[1] and (w.shape[2:] == (1, 1) or c <= STEM_MAX_CIN):
        return "conv"
    if wide and group == 1 and c == w.shape[1] and c % BLOCK == 0:  # reordered in if NCHW
        if w.size * 4 > WIDE_MAX_WEIGHT_BYTES or _winograd_keeps(node, w.shape, y):
            return None
        return "conv"
    if group == c == w.shape[0] and w.shape[1] == 1:
        return "depthwise"
    return None


def _winograd_keeps(node: Node, w_shape: tuple[int, ...], y: Value) -> bool:
    """Whether a group-1 conv stays NCHW for Winograd F(4x4, 3x3) (see WINOGRAD_MIN_CIN): 3x3,
    stride and dilation 1, at least WINOGRAD_MIN_CIN input and 16 output channels, at least 16
    output tiles of 4x4 (cython_kernels/conv_kernels.py use_winograd), WINOGRAD_MIN_FILL full;
    an output plane of unknown size keeps NCHW. A strided one stays NCHW for the im2col GEMM
    from STRIDED_MIN_CIN input channels on."""
    a = node.attrs
    strides = [int(v) for v in a.get("strides") or [1, 1]]
    if any(v > 1 for v in strides) and w_shape[1] >= STRIDED_MIN_CIN:
        return True
    steps = strides + list(a.get("dilations") or [1, 1])
    ones = all(int(v) == 1 for v in steps)
    if tuple(w_shape[2:]) != (3, 3) or not ones:
        return False
    if w_shape[1] < WINOGRAD_MIN_CIN or w_shape[0] < 16:
        return False
    if y.shape is None or len(y.shape) != 4:
        return True
    oh, ow = y.shape[2], y.shape[3]
    if not isinstance(oh, int) or not isinstance(ow, int):
        return True
    tiles = -(-oh // 4) * -(-ow // 4)
    return tiles >= 16 and oh * ow >= WINOGRAD_MIN_FILL * 16 * tiles


def _elementwise_ok(
    node: Node, view: GraphView, values: dict[str, Value], blocked: set[str]
) -> bool:
    """An element-wise node that computes the same on blocked values: a unary op of a blocked
    value (constant scalar parameters), or a binary op of two blocked values of one shape or of
    a blocked value and a constant scalar."""
    standard = node.domain in ("", "ai.onnx")
    y = values.get(node.outputs[0]) if len(node.outputs) == 1 else None
    if y is None or y.dtype != "float32" or not node.inputs:
        return False
    if standard and node.op_type == "Concat":  # along the channels: axis 1 (-3), blocked too
        rank4 = y.shape is not None and len(y.shape) == 4
        return (
            rank4
            and int(node.attrs.get("axis", 0)) in (1, -3)
            and any(i in blocked for i in node.inputs)
            and all(i in blocked or _blockable(values.get(i)) for i in node.inputs)
        )
    if node.inputs[0] not in blocked:
        return False
    if (standard and node.op_type in _UNARY) or (
        node.domain == GOSSAMER_DOMAIN and node.op_type in _GOSSAMER_UNARY
    ):
        return all(not n or _scalar(view, n) for n in node.inputs[1:])
    if not standard or node.op_type not in _BINARY or len(node.inputs) != 2:
        return False
    a, b = node.inputs
    if b in blocked:
        return _broadcast_blocked(values.get(a), values.get(b), y)
    return _scalar(view, b)


def _max_pool_ok(node: Node, values: dict[str, Value], blocked: set[str]) -> bool:
    """A 2-D float32 MaxPool of a blocked value with one output (no Indices)."""
    if node.op_type != "MaxPool" or node.domain not in ("", "ai.onnx") or not node.inputs:
        return False
    if node.inputs[0] not in blocked or len([o for o in node.outputs if o]) != 1:
        return False
    y = values.get(node.outputs[0])
    return y is not None and y.dtype == "float32" and y.shape is not None and len(y.shape) == 4


def _split_ok(node: Node, values: dict[str, Value], blocked: set[str]) -> bool:
    """A Split of a blocked value along the channels into parts of whole blocks: the same Split of
    (N, C/8, H, W, 8) along axis 1 (its parts' C/8), each part blocked."""
    if node.op_type != "Split" or node.domain not in ("", "ai.onnx") or not node.inputs:
        return False
    if node.inputs[0] not in blocked or int(node.attrs.get("axis", 0)) not in (1, -3):
        return False
    x = values.get(node.inputs[0])
    if x is None or x.dtype != "float32" or x.shape is None or len(x.shape) != 4:
        return False
    return all(bool(o) and _blockable(values.get(o)) for o in node.outputs)


def _blockable(v: Value | None) -> bool:
    """A float32 rank-4 value of a known channel count that is a multiple of the block."""
    if v is None or v.dtype != "float32" or v.shape is None or len(v.shape) != 4:
        return False
    c = v.shape[1]
    return isinstance(c, int) and c > 0 and c % BLOCK == 0


def _broadcast_blocked(a: Value | None, b: Value | None, y: Value) -> bool:
    """Two blocked operands compute on their blocked forms as on the NCHW ones when both are
    rank 4 with the result's channels, and each other dim is the result's or 1 (the block, the
    last dim of both, then lines up)."""
    if a is None or b is None or a.shape is None or b.shape is None or y.shape is None:
        return False
    if len(a.shape) != 4 or len(b.shape) != 4 or len(y.shape) != 4:
        return False
    if not (a.shape[1] == b.shape[1] == y.shape[1]):
        return False
    return all(da in (dy, 1) and db in (dy, 1) and dy in (da, db)
               for da, db, dy in zip(a.shape, b.shape, y.shape))  # fmt: skip


def _scalar(view: GraphView, name: str) -> bool:
    value = view.constant(name)
    return value is not None and value.size == 1


def _known_channels(v: Value | None, channels: int) -> bool:
    return v is not None and v.shape is not None and len(v.shape) == 4 and v.shape[1] == channels


def _plan(
    graph: Graph,
    view: GraphView,
    values: dict[str, Value],
    keep_nchw: KeepNchw | None = None,
    wide: bool = False,
) -> dict[str, str]:
    """node name -> "conv", "depthwise", "scale", "shift" (a Mul / Add the conv before it takes
    in) or "elementwise" for the nodes to block, in one pass over the nodes in order: a depthwise
    conv and an element-wise op only on blocked inputs."""
    out: dict[str, str] = {}
    blocked_values: set[str] = set()
    for node in graph.topological_nodes():
        if node.name in out:  # a conv's scale or shift
            continue
        kind = _conv_ok(node, view, values, wide)
        if kind is not None and keep_nchw is not None and keep_nchw(node, values):
            continue
        if kind == "depthwise" and node.inputs[0] not in blocked_values:
            continue
        if kind is None and _elementwise_ok(node, view, values, blocked_values):
            kind = "elementwise"
        if kind is None and _max_pool_ok(node, values, blocked_values):
            kind = "maxpool"
        if kind is None and _split_ok(node, values, blocked_values):
            kind = "split"
        if kind is None:
            continue
        out[node.name] = kind
        if kind == "split":
            blocked_values.update(node.outputs)
            continue
        last = node.outputs[0]
        if kind in CONV_KINDS:
            for role, op in (("scale", "Mul"), ("shift", "Add")):
                taken = _affine(view, values, last, op, values[node.outputs[0]])
                if taken is not None:
                    out[taken.name] = role
                    last = taken.outputs[0]
        blocked_values.add(last)
    return out


def _affine(view: GraphView, values: dict[str, Value], name: str, op: str, y: Value) -> Node | None:
    """The Mul / Add of `name` and a constant scalar or per-channel value (float32) that alone
    reads `name` and keeps its shape y, or None."""
    node = view.sole_consumer(name)
    if node is None or node.op_type != op or node.domain not in ("", "ai.onnx"):
        return None
    if len(node.inputs) != 2 or len(node.outputs) != 1 or node.inputs[0] == node.inputs[1]:
        return None
    other = node.inputs[1] if node.inputs[0] == name else node.inputs[0]
    c = view.constant(other)
    out = values.get(node.outputs[0])
    if c is None or c.dtype != np.float32 or out is None or out.shape != y.shape or not y.shape:
        return None
    channels = y.shape[1]
    per_channel = c.ndim in (3, 4) and c.shape[-3] == channels and c.size == channels
    return node if (c.size == 1 and c.ndim <= 4) or per_channel else None


def _chains(blocked: dict[str, str], view: GraphView) -> list[set[str]]:
    """The blocked nodes grouped into chains (connected through values they pass each other)."""
    parent = {n: n for n in blocked}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for node in list(view.graph.nodes):
        if node.name not in blocked:
            continue
        for name in node.inputs:
            producer = view.producer.get(name) if name else None
            if producer is not None and producer.name in blocked:
                parent[find(producer.name)] = find(node.name)
    groups: dict[str, set[str]] = {}
    for n in blocked:
        groups.setdefault(find(n), set()).add(n)
    return sorted(groups.values(), key=lambda g: sorted(g)[0])


def _rewrite(
    graph: Graph, view: GraphView, blocked: dict[str, str], values: dict[str, Value]
) -> int:
    """Replaces the planned nodes; returns the reorders added."""
    nodes = [n for n in graph.nodes if n.name in blocked]
    affine = {n.name: n for n in nodes if blocked[n.name] in ("scale", "shift")}
    # a conv -> its scale and shift nodes (the chain of sole readers after it)
    taken: dict[str, dict[str, Node]] = {}
    for node in nodes:
        if blocked[node.name] in CONV_KINDS:
            parts, out = {}, node.outputs[0]
            for role in ("scale", "shift"):
                reader = view.sole_consumer(out)
                if reader is not None and affine.get(reader.name) is reader:
                    if blocked[reader.name] == role:
                        parts[role] = reader
                        out = reader.outputs[0]
            taken[node.name] = parts
    nodes = [n for n in nodes if n.name not in affine]
    result = {n.name: ([n] + list(taken.get(n.name, {}).values()))[-1].outputs[0] for n in nodes}
    renamed = {result[n.name]: view.fresh(f"{result[n.name]}_nchwc") for n in nodes}
    for node in nodes:  # a Split's every part is blocked
        if blocked[node.name] == "split":
            renamed.update({o: view.fresh(f"{o}_nchwc") for o in node.outputs[1:]})
    reorders = 0
    blocked_in: dict[str, str] = {}  # an NCHW value -> its blocked copy (a reorder-in)

    def as_blocked(name: str) -> str:
        nonlocal reorders
        if name in renamed:
            return renamed[name]
        if name not in blocked_in:
            blocked_in[name] = view.fresh(f"{name}_nchwc")
            node = Node("NchwcReorderInput", [name], [blocked_in[name]], {"block_size": BLOCK},
                        view.fresh(f"{name}_to_nchwc"), GOSSAMER_DOMAIN)  # fmt: skip
            view.replace([], [node])
            reorders += 1
        return blocked_in[name]

    reordered = _reordered_inputs(nodes, set(blocked), view)
    for node in nodes:
        if blocked[node.name] == "maxpool":
            attrs = {k: node.attrs[k] for k in _POOL_ATTRS if k in node.attrs}
            view.replace([node], [Node("NchwcMaxPool", [renamed[node.inputs[0]]],
                                       [renamed[node.outputs[0]]], attrs, node.name,
                                       GOSSAMER_DOMAIN)])  # fmt: skip
            continue
        if blocked[node.name] == "split":
            view.replace([node], [_blocked_split(view, node, renamed, values)])
            continue
        if blocked[node.name] == "elementwise":  # the same op, on the blocked values
            inputs = [renamed.get(i, i) for i in node.inputs]
            if node.op_type == "Concat":  # an NCHW part from outside the chain: reordered in
                inputs = [as_blocked(i) for i in node.inputs]
            attrs = dict(node.attrs)
            if node.op_type == "Concat":
                attrs["axis"] = 1  # the blocks' axis (-3 of NCHW is -4 of NCHW8c)
            view.replace([node], [Node(node.op_type, inputs, [renamed[node.outputs[0]]], attrs,
                                       node.name, node.domain)])  # fmt: skip
            continue
        x, w = node.inputs[0], node.inputs[1]
        b = node.inputs[2] if len(node.inputs) > 2 else ""
        z = node.inputs[4] if len(node.inputs) > 4 else ""
        attrs = {k: node.attrs[k] for k in _CONV_ATTRS if k in node.attrs}
        for k in ("activation", "activation_params"):
            if node.attrs.get(k):
                attrs[k] = node.attrs[k]
        parts = taken.get(node.name, {})
        consts = {role: _other(n, prev) for role, n, prev in _affine_inputs(node, parts)}
        x = as_blocked(x) if x in reordered or x in renamed else x
        inputs = [x, w, b, as_blocked(z) if z else "", consts.get("scale", ""),
                  consts.get("shift", "")]  # fmt: skip
        while inputs and not inputs[-1]:
            inputs.pop()
        new = Node("NchwcConv", inputs, [renamed[result[node.name]]], attrs, node.name,
                   GOSSAMER_DOMAIN)  # fmt: skip
        view.replace([node, *parts.values()], [new])
    for plain, name in renamed.items():
        readers = [n for n in view.consumers.get(plain, []) if n.name not in blocked]
        pools = [n for n in readers if _is_global_average(n)]
        for pool in pools:
            view.replace([pool], [Node("NchwcGlobalAveragePool", [name], list(pool.outputs), {},
                                       pool.name, GOSSAMER_DOMAIN)])  # fmt: skip
            _classifier_as_pointwise(view, pool.outputs[0])
        if (
            any(n not in pools for n in readers)
            or plain in view.outputs
            or plain in view.body_reads
        ):
            out = Node("NchwcReorderOutput", [name], [plain], {}, view.fresh(f"{plain}_from_nchwc"),
                       GOSSAMER_DOMAIN)  # fmt: skip
            view.replace([], [out])
            reorders += 1
    _fuse_conv_max_pools(view)
    if dwpw_enabled():
        _fuse_depthwise_pointwise(view)
    return reorders


def _fuse_conv_max_pools(view: GraphView) -> None:
    """A group-1 NchwcConv without a residual whose result only an NchwcMaxPool reads becomes
    one gossamer::NchwcConvMaxPool (the pool's attributes prefixed pool_): the conv's result is
    never written whole (SqueezeNet 1.1's stem and first pool)."""
    for pool in [n for n in view.graph.nodes if n.op_type == "NchwcMaxPool"]:
        conv = view.producer.get(pool.inputs[0])
        if (
            conv is None
            or conv.op_type != "NchwcConv"
            or int(conv.attrs.get("group", 1)) != 1
            or any(conv.inputs[3:4])
            or view.sole_consumer(pool.inputs[0]) is not pool
            or len([o for o in pool.outputs if o]) != 1
        ):
            continue
        x, w, b, _, scale, shift = (list(conv.inputs) + [""] * 6)[:6]
        inputs = [x, w, b, scale, shift]
        while inputs and not inputs[-1]:
            inputs.pop()
        attrs = dict(conv.attrs)
        attrs.update({f"pool_{k}": v for k, v in pool.attrs.items()})
        fused = Node("NchwcConvMaxPool", inputs, [pool.outputs[0]], attrs,
                     view.fresh(f"{conv.name}_{pool.name}"), GOSSAMER_DOMAIN)  # fmt: skip
        view.replace([conv, pool], [fused])


# the activations both convs of an NchwcDepthwisePointwise may have: clips only (its kernel
# takes bounds, no activation parameters)
_DWPW_ACTIVATIONS = ("", "Relu", "Clip")


def _fuse_depthwise_pointwise(view: GraphView) -> None:
    """A depthwise NchwcConv (no residual, scale or shift) whose result only a 1x1 NchwcConv reads
    (group 1, stride 1, no padding, no scale or shift) becomes one
    gossamer::NchwcDepthwisePointwise (the 1x1's activation prefixed pw_; its outputs the 1x1's
    and the depthwise result): each thread computes the depthwise rows of its part of the pixels
    and the 1x1 conv of them, so the 1x1 conv (MobileNetV2's projection) never reads what the
    other core wrote (src/nchwc.c; where that does not pay, on small planes at two threads, the
    kernel makes the two calls)."""
    for pw in [n for n in view.graph.nodes if n.op_type == "NchwcConv"]:
        dw = view.producer.get(pw.inputs[0])
        if dw is None or dw.op_type != "NchwcConv" or int(dw.attrs.get("group", 1)) == 1:
            continue
        if view.sole_consumer(pw.inputs[0]) is not pw or any(dw.inputs[3:]):
            continue
        w, pw_w = view.constant(dw.inputs[1]), view.constant(pw.inputs[1])
        a = pw.attrs
        if (
            w is None
            or pw_w is None
            or w.ndim != 4
            or w.shape[1] != 1
            or int(dw.attrs["group"]) != w.shape[0]
            or pw_w.shape[1:] != (w.shape[0], 1, 1)
            or int(a.get("group", 1)) != 1
            or any(int(v) != 1 for v in a.get("strides") or [])
            or any(int(v) != 0 for v in a.get("pads") or [])
            or str(a.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID")
            or any(pw.inputs[4:])
            or str(dw.attrs.get("activation", "")) not in _DWPW_ACTIVATIONS
            or str(a.get("activation", "")) not in _DWPW_ACTIVATIONS
        ):
            continue
        x, w_name, b = (list(dw.inputs) + [""] * 3)[:3]
        pw_b, z = (list(pw.inputs) + [""] * 4)[2:4]
        inputs = [x, w_name, b, pw.inputs[1], pw_b, z]
        while inputs and not inputs[-1]:
            inputs.pop()
        attrs = dict(dw.attrs)
        for k in ("activation", "activation_params"):
            if k in a:
                attrs[f"pw_{k}"] = a[k]
        # the depthwise result stays an output (no reader): its arena place, where the kernel
        # writes each part's rows, is the one the next expansion writes (warm in cache)
        fused = Node("NchwcDepthwisePointwise", inputs, [pw.outputs[0], pw.inputs[0]], attrs,
                     view.fresh(f"{dw.name}_{pw.name}"), GOSSAMER_DOMAIN)  # fmt: skip
        view.replace([dw, pw], [fused])


def _blocked_split(
    view: GraphView, node: Node, renamed: dict[str, str], values: dict[str, Value]
) -> Node:
    """The Split of the blocked value along its blocks' axis, each part's C/8 blocks given
    (an input from opset 13, an attribute before, as the node had them)."""
    blocks = [int(values[o].shape[1]) // BLOCK for o in node.outputs]  # type: ignore[index]
    attrs = {"axis": 1}
    inputs = [renamed[node.inputs[0]]]
    if "split" in node.attrs or view.graph.opsets.get("", 21) < 13:
        attrs["split"] = blocks
    else:
        inputs.append(view.add_initializer(f"{node.name}_blocks", np.array(blocks, np.int64)))
    outputs = [renamed[o] for o in node.outputs]
    return Node("Split", inputs, outputs, attrs, node.name, node.domain)


def _classifier_as_pointwise(view: GraphView, pooled: str) -> None:
    """A Flatten then a Gemm by constant weights that alone read a global average pool's
    (N, C, 1, 1) become a 1x1 NchwcConv on its one pixel: that (N, C, 1, 1) is already laid out
    as the blocked (N, C/8, 1, 1, 8), and the conv's blocked (N, M/8, 1, 1, 8) as the Gemm's
    (N, M), so two Reshapes (views) stand for the reorders; the blocked pointwise kernel streams
    the weights once, split by output channels between the threads."""
    flatten = view.sole_consumer(pooled)
    if flatten is None or flatten.op_type != "Flatten" or int(flatten.attrs.get("axis", 1)) != 1:
        return
    gemm = view.sole_consumer(flatten.outputs[0])
    if gemm is None or gemm.op_type != "Gemm" or gemm.inputs[0] != flatten.outputs[0]:
        return
    a = gemm.attrs
    if int(a.get("transA", 0)) or float(a.get("alpha", 1.0)) != 1.0:
        return
    b = view.constant(gemm.inputs[1])
    c = view.constant(gemm.inputs[2]) if len(gemm.inputs) > 2 and gemm.inputs[2] else None
    if b is None or b.ndim != 2 or b.dtype != np.float32:
        return
    w = b if int(a.get("transB", 0)) else b.T
    m, k = w.shape
    if m % BLOCK or k % BLOCK:
        return
    if c is not None and (c.size != m or c.shape[-1] != m or c.dtype != np.float32
                          or float(a.get("beta", 1.0)) != 1.0):  # fmt: skip
        return
    weights = view.add_initializer(
        f"{gemm.name}_w_1x1", np.ascontiguousarray(w).reshape(m, k, 1, 1)
    )
    bias = view.add_initializer(f"{gemm.name}_b", c.reshape(m)) if c is not None else ""
    to_blocked = view.add_initializer(f"{pooled}_blocked_shape",
                                      np.array([0, k // BLOCK, 1, 1, BLOCK], np.int64))  # fmt: skip
    to_rows = view.add_initializer(f"{gemm.name}_rows_shape", np.array([0, m], np.int64))
    xb, yb = view.fresh(f"{pooled}_nchwc"), view.fresh(f"{gemm.outputs[0]}_nchwc")
    inputs = [xb, weights] + ([bias] if bias else [])
    view.replace([flatten, gemm], [
        Node("Reshape", [pooled, to_blocked], [xb], {}, view.fresh(f"{flatten.name}_blocked")),
        Node("NchwcConv", inputs, [yb], {"kernel_shape": [1, 1]}, gemm.name, GOSSAMER_DOMAIN),
        Node("Reshape", [yb, to_rows], list(gemm.outputs), {}, view.fresh(f"{gemm.name}_rows")),
    ])  # fmt: skip


def _affine_inputs(conv: Node, parts: dict[str, Node]) -> list[tuple[str, Node, str]]:
    """(role, node, the name it reads from the conv's side) for the conv's scale and shift."""
    out, prev = [], conv.outputs[0]
    for role in ("scale", "shift"):
        if role in parts:
            out.append((role, parts[role], prev))
            prev = parts[role].outputs[0]
    return out


def _other(node: Node, name: str) -> str:
    return node.inputs[1] if node.inputs[0] == name else node.inputs[0]


def _is_global_average(node: Node) -> bool:
    return node.op_type == "GlobalAveragePool" and node.domain in ("", "ai.onnx")


def planned(graph: Graph, keep_nchw: KeepNchw | None = None, wide: bool = False) -> Graph:
    """A copy of `graph` with blocked chains planned, or `graph` itself when the pass is off, has
    run already, or finds nothing to block (`keep_nchw`, `wide`: as for run)."""
    if not enabled() or METADATA_KEY in graph.metadata:
        return graph
    copy = copy_graph(graph)
    return copy if run(copy, keep_nchw, wide) else graph
