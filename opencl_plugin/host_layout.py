"""Transposes that cost no launch: done by the host's copies, or folded into constant weights.

A tiny model pays per launch (PoCL: ~15 us a launch and finish alone, several times that right
after the device was idle), and the mtcnn models spend three of their ten launches on layout:
an NHWC -> NCHW Transpose of the input, NCHW -> NHWC Transposes before the outputs and before a
Flatten into a Gemm. Per plan (the shapes known):

- a float partition input read only by a Transpose: the run copies the feed in transposed (numpy,
  while it copies anyway) into the buffer that holds the Transpose's output;
- a partition output made by a Transpose of a value nothing else reads: the run copies that value
  out transposed; likewise a Softmax of a Transpose (any axis from opset 13, the last before):
  the Softmax runs on the untransposed tensor along the axis the Transpose moved there, and is
  copied out transposed;
- Transpose (batch axis kept) -> Flatten(axis 1) -> Gemm / FusedGemm / MatMul with a constant B,
  nothing else reading the two: the Transpose becomes a view and B's rows are permuted instead
  (flattening the untransposed tensor orders the same elements differently; B' takes row q(r)
  for element r, so the products sum the same terms).

The first two only up to HOST_MAX elements (a host transpose of a large image costs more than the
device's copy kernel). Exact: the same values are moved, and the Gemm sums the same products.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..refimpl.ir import Node
from .kernels.registry import opset_of

HOST_MAX = 1 << 16  # elements: larger tensors keep the device's transpose
ENABLED = True  # False: every Transpose launches (for A/B timings and tests)
_GEMMS = ("Gemm", "FusedGemm", "MatMul")


@dataclass
class HostLayout:
    skip: set[str] = field(default_factory=set)  # Transpose nodes the host copies do
    views: set[str] = field(default_factory=set)  # Transpose nodes that become views
    nodes: dict[str, Node] = field(default_factory=dict)  # node -> its replacement
    inputs: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # feed ->
    # (the value its buffer holds, the perm the copy applies)
    outputs: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # output ->
    # (the value copied out, the perm the copy applies)
    opset: dict[str, int] = field(default_factory=dict)  # node -> the opset to lower it at


def host_layout(
    nodes: list[Node],
    outputs: list[str],
    in_shapes: dict[str, tuple[int, ...]],
    shapes: dict[str, tuple[int, ...]],
    constants: dict[str, np.ndarray],
    opsets: dict[str, int] | None = None,
    fused: frozenset[str] | set[str] = frozenset(),
) -> HostLayout:
    """The transposes of this plan that need no launch; adds permuted weights to `constants`
    (and their shapes to `shapes`)."""
    found = HostLayout()
    if not ENABLED:
        return found
    readers: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            if name:
                readers.setdefault(name, []).append(node)
    escaping = set(outputs)

    def only_reader(name: str) -> Node | None:
        got = readers.get(name, [])
        return got[0] if len(got) == 1 and name not in escaping else None

    def perm_of(node: Node) -> tuple[int, ...]:
        rank = len(shapes[node.inputs[0]])
        perm = node.attrs.get("perm")
        return tuple(int(p) for p in perm) if perm else tuple(range(rank))[::-1]

    for name, shape in in_shapes.items():
        t = only_reader(name)
        if t is not None and t.op_type == "Transpose" and math.prod(shape) <= HOST_MAX:
            found.skip.add(t.name)
            found.inputs[name] = (t.outputs[0], perm_of(t))
    produced = {o: n for n in nodes for o in n.outputs}
    for name in outputs:
        maker = produced.get(name)
        if maker is None or maker.op_type != "Transpose" or readers.get(name):
            continue
        src = maker.inputs[0]
        reader = only_reader(src)
        if maker.name in found.skip or src not in produced or reader is None:
            continue
        if reader.name != maker.name or math.prod(shapes[src]) > HOST_MAX:
            continue
        found.skip.add(maker.name)
        found.outputs[name] = (src, perm_of(maker))
    for name in outputs:  # Transpose -> Softmax -> output: the Softmax on the untransposed
        soft = produced.get(name)
        if soft is None or soft.op_type != "Softmax" or readers.get(name) or soft.name in fused:
            continue
        t = produced.get(soft.inputs[0])
        if t is None or t.op_type != "Transpose" or t.name in found.skip | fused:
            continue
        if only_reader(t.outputs[0]) is None or t.inputs[0] in found.inputs:
            continue
        rank, perm = len(shapes[t.inputs[0]]), perm_of(t)
        opset = opset_of(opsets or {}, soft.domain)
        if math.prod(shapes[name]) > HOST_MAX or not rank:
            continue
        axis = int(soft.attrs.get("axis", -1 if opset >= 13 else 1))
        axis = axis + rank if axis < 0 else axis
        # before opset 13 the axis coerces to 2-D: one axis only when it is the last
        if not 0 <= axis < rank or (opset < 13 and axis != rank - 1):
            continue
        found.opset[soft.name] = max(opset, 13)  # lowered with one-axis semantics
        held = f"{name}::untransposed"  # the Softmax's result in its input's layout
        shapes[held] = tuple(shapes[t.inputs[0]])
        attrs = {**soft.attrs, "axis": perm[axis]}
        found.nodes[soft.name] = dataclasses.replace(
            soft, inputs=[t.inputs[0]], outputs=[held], attrs=attrs
        )
        found.skip.add(t.name)
        found.outputs[name] = (held, perm)
    for t in nodes:
        if t.op_type == "Transpose" and t.name not in found.skip:
            _fold_into_weights(t, perm_of(t), only_reader, shapes, constants, found)
    return found


def _fold_into_weights(
    t: Node,
    perm: tuple[int, ...],
    only_reader: Callable[[str], Node | None],
    shapes: dict[str, tuple[int, ...]],
    constants: dict[str, np.ndarray],
    found: HostLayout,
) -> None:
    """Transpose -> Flatten(axis 1) -> Gemm with a constant B: the Transpose a view, B permuted."""
    if not perm or perm[0] != 0 or t.inputs[0] in found.inputs:
        return
    flat = only_reader(t.outputs[0])
    if flat is None or flat.op_type != "Flatten" or int(flat.attrs.get("axis", 1)) != 1:
        return
    gemm = only_reader(flat.outputs[0])
    if gemm is None or gemm.op_type not in _GEMMS or gemm.inputs[0] != flat.outputs[0]:
        return
    if int(gemm.attrs.get("transA", 0)) or len(gemm.inputs) < 2:
        return
    b = constants.get(gemm.inputs[1])
    trans_b = int(gemm.attrs.get("transB", 0)) if gemm.op_type != "MatMul" else 0
    sample = shapes[t.outputs[0]][1:]
    k = math.prod(sample)
    if b is None or b.ndim != 2 or b.shape[1 if trans_b else 0] != k:
        return
    # element r of the untransposed sample (flattened) is element q(r) of the transposed one
    inner = [p - 1 for p in perm[1:]]
    q = np.arange(k).reshape(sample).transpose(np.argsort(inner)).reshape(-1)
    permuted = b[:, q] if trans_b else b[q]
    key = f"{gemm.inputs[1]}::rows{perm}{tuple(sample)}"
    constants[key] = np.ascontiguousarray(permuted)
    shapes[key] = tuple(permuted.shape)
    inputs = list(gemm.inputs)
    inputs[1] = key
    found.views.add(t.name)
    found.nodes[gemm.name] = dataclasses.replace(gemm, inputs=inputs)
