"""Static memory planning: every intermediate tensor of a static-shape graph gets an arena offset.

A tensor lives from the step that writes it to the last step that reads it (steps are the nodes in
`Graph.topological_nodes()` order, as the interpreter runs them; graph outputs live to step
`num_steps`, where they are handed back). Graph inputs, initializers and Constant outputs are not in
the arena, nor are values computed from weights alone (what constant folding removes; unless
`plan_constants=True`) or values produced inside If/Loop/Scan bodies. Tensors of unknown size
are listed in `unplanned` with the reason.

Ways to share a buffer, from a small explicit rule table:
- a *view*: Reshape/Squeeze/Unsqueeze/Flatten/Identity outputs are the input's bytes reinterpreted;
  so are the outputs of a Split whose pieces are blocks of its input, one after another (every
  axis before the split one has size 1: a channel Split of one image), and the output of a Slice
  with constant bounds that is one block of its input (step 1; every axis before the sliced one
  of size 1, every axis after it whole: q, k and v sliced from one qkv tensor), each at its place
  in the input (not a graph output, the place aligned): such a Split or Slice copies nothing;
- *in place*: an element-wise op writes its output over an input of identical dtype and shape that
  dies at this node (its whole buffer, views included, is read for the last time here);
- *parts*: the inputs of a Concat whose output is one block per input (every axis before the
  concatenated one has size 1: a channel Concat of one image, axis 1 of NCHW or of blocked
  NCHW8c) live inside the output's buffer, at their places in it, so the nodes producing them
  write the concatenated output and the Concat copies nothing (each input: produced here, of the
  output's dtype, not a graph output; its place aligned). An input that shares its buffer moves
  in with the whole buffer: the buffer's owner becomes the part, its views and the in-place
  writes over it keep their places in it. That takes a run of consecutive inputs that covers the
  buffer exactly, each at its place in it: the blocks of one Split in order (YOLOv8n's C2f:
  Concat(Split(cv1)[0], Split(cv1)[1], bottleneck, ...) puts cv1's output at the Concat's start,
  and the bottleneck's conv, with the residual Add in place over it, after it), Slices that are
  such blocks, a conv's output with an element-wise op in place over it; a buffer already part of
  a Concat, or holding a graph output, stays out (GOSSAMER_CONCAT_GROUPS=0: only inputs with a
  buffer of their own, the rule before). Nothing may write in place over the output's buffer
  while any of its tensors is read (the in-place rule's test covers every tensor of the buffer).
Buffers are then placed greedy by size (Pisarchyk & Lee 2020, as TFLite's ArenaPlanner): largest
first, each at the lowest aligned offset free of every placed buffer whose lifetime overlaps.

At run time (refimpl/arena.py) a Program built with the plan allocates the arena once
(`plan.allocate()`) and hands each node its planned arrays (`plan.view(arena, name)`); a backend
kernel writes into them by asking `arena.output_array(shape, dtype)` for its outputs.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .dtypes import to_numpy
from .errors import GossamerError
from .ir import Graph, Node, Value
from .memory_plan_check import plan_problems
from .registry import NONDETERMINISTIC_OPS
from .shape_inference import infer_shapes
from .shape_inference.core import derived_graphs

# ops whose output is its input 0 reinterpreted (same bytes, another shape)
VIEW_OPS = frozenset("Reshape Squeeze Unsqueeze Flatten Identity".split())
# element-wise ops that may overwrite input 0 (out[i] depends on in[i] only)
UNARY_INPLACE = frozenset(
    "Relu LeakyRelu Clip Sigmoid HardSigmoid HardSwish Tanh Elu Selu Celu Softplus Softsign Erf "
    "Exp Log Neg Abs Sqrt Reciprocal Floor Ceil Round Sin Cos Not Gelu Swish".split()
)
# element-wise binary ops that may overwrite either input when it has the output's shape
BINARY_INPLACE = frozenset("Add Sub Mul Div".split())


class MemoryPlanError(GossamerError, AssertionError):
    """A memory plan is inconsistent: two live tensors share bytes, or an offset is out of range."""


@dataclass(frozen=True)
class TensorPlan:
    """Where one intermediate lives. `how`: "own", "view" or "inplace" (then `shares` is the input
    whose buffer it reuses)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    first: int  # the step that writes it
    last: int  # the last step that reads it (num_steps for graph outputs)
    buffer: int  # index into MemoryPlan.buffers
    offset: int  # bytes from the start of the arena (a part: its place inside its Concat's)
    how: str = "own"  # or "view", "inplace", "part" (then `shares` is the Concat's output)
    shares: str | None = None


@dataclass(frozen=True)
class Buffer:
    """A region of the arena; `size` is rounded up to the alignment."""

    offset: int
    size: int
    first: int
    last: int
    tensors: tuple[str, ...]


@dataclass
class MemoryPlan:
    alignment: int
    num_steps: int
    steps: list[str]  # node name per step
    tensors: dict[str, TensorPlan]
    buffers: list[Buffer]
    unplanned: dict[str, str]  # name -> why it has no place in the arena
    arena_bytes: int
    sum_of_intermediates_bytes: int  # each planned tensor in its own aligned allocation
    peak_live_bytes: int  # max over steps of the live buffers' bytes: a lower bound on the arena
    subgraph_values: int = 0  # values produced inside bodies (never planned)

    @property
    def offsets(self) -> dict[str, int]:
        return {n: t.offset for n, t in self.tensors.items()}

    @property
    def aliases(self) -> dict[str, str]:
        """Tensor -> the input whose buffer it shares (views and in-place outputs)."""
        return {n: t.shares for n, t in self.tensors.items() if t.shares is not None}

    @property
    def num_views(self) -> int:
        return sum(t.how == "view" for t in self.tensors.values())

    @property
    def num_inplace(self) -> int:
        return sum(t.how == "inplace" for t in self.tensors.values())

    @property
    def num_parts(self) -> int:
        return sum(t.how == "part" for t in self.tensors.values())

    def allocate(self) -> np.ndarray:
        """A fresh uint8 arena whose start is aligned to `alignment` bytes."""
        raw = np.empty(self.arena_bytes + self.alignment, np.uint8)
        start = (-raw.ctypes.data) % self.alignment
        return raw[start : start + self.arena_bytes]

    def view(self, arena: np.ndarray, name: str) -> np.ndarray:
        """The tensor `name` as an array over its bytes of `arena`."""
        t = self.tensors[name]
        return arena[t.offset : t.offset + t.nbytes].view(to_numpy(t.dtype)).reshape(t.shape)

    def verify(self) -> None:
        """Raises MemoryPlanError unless tensors that are live at the same step never share bytes
        (except views of one value and an in-place write over an input that dies there)."""
        problems = plan_problems(self)
        if problems:
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            raise MemoryPlanError("invalid memory plan: " + "; ".join(problems[:10]) + more)


def plan_memory(
    graph: Graph,
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
    alignment: int = 64,
    *,
    values: Mapping[str, Value] | None = None,
    plan_constants: bool = False,
    order: list[Node] | None = None,
) -> MemoryPlan:
    """Plans the arena of `graph`; input_shapes fixes dynamic input dims, values skips inference
    (as model_stats passes the shapes it already has), order skips the topological sort (a
    Program passes its steps' nodes: `graph.topological_nodes()`). Values computed from weights
    alone (Constant outputs, DequantizeLinear of an initializer, ...) belong with the weights
    once the optimiser folds them: they are planned only with plan_constants=True."""
    if alignment < 1:
        raise ValueError(f"alignment must be a positive number of bytes, got {alignment}")
    if order is None:
        order = graph.topological_nodes()
    if values is None:
        values = infer_shapes(with_input_shapes(graph, input_shapes), order)
    n = len(order)
    bodies = _bodies_of(order)
    first, last = _lifetimes(graph, order, bodies)
    external = {v.name for v in graph.inputs} | set(graph.initializers)
    fixed = graph.constant_initializers()
    constant = set() if plan_constants else _weights_only(order, bodies, fixed)
    sizes: dict[str, tuple[str, tuple[int, ...], int]] = {}
    unplanned: dict[str, str] = {}
    for node in order:
        for name in node.outputs:
            if not name or name in external:
                continue
            if name in constant:
                unplanned[name] = (
                    "Constant output (held with the weights)"
                    if node.op_type == "Constant"
                    else "computed from weights only (constant folding removes it)"
                )
                continue
            found = _static_size(values.get(name))
            if isinstance(found, str):
                unplanned[name] = found
            else:
                sizes[name] = found
    outputs = {v.name for v in graph.outputs}
    groups, how, place = _share(order, sizes, last, outputs, alignment, fixed)
    buffers = _place(groups, sizes, first, last, alignment)
    tensors: dict[str, TensorPlan] = {}
    for b_idx, buf in enumerate(buffers):
        for name in buf.tensors:
            dtype, shape, nbytes = sizes[name]
            kind, shares = how.get(name, ("own", None))
            offset = buf.offset + place.get(name, 0)
            tensors[name] = TensorPlan(
                name, dtype, shape, nbytes, first[name], last[name], b_idx, offset, kind, shares
            )
    live = [0] * (n + 2)  # bytes coming live (and going) at each step
    for buf in buffers:
        live[buf.first] += buf.size
        live[buf.last + 1] -= buf.size
    return MemoryPlan(
        alignment=alignment,
        num_steps=n,
        steps=[node.name for node in order],
        tensors=dict(sorted(tensors.items(), key=lambda kv: (kv[1].first, kv[0]))),
        buffers=buffers,
        unplanned=unplanned,
        arena_bytes=max((b.offset + b.size for b in buffers), default=0),
        sum_of_intermediates_bytes=sum(_round_up(s[2], alignment) for s in sizes.values()),
        peak_live_bytes=max(itertools.accumulate(live)) if buffers else 0,
        subgraph_values=sum(
            len([o for o in inner.outputs if o])
            for subs in bodies
            for body in subs
            for _, inner in body.walk()
        ),
    )


def arena_bound(graph: Graph, values: Mapping[str, Value], alignment: int = 64) -> int:
    """An upper bound on `plan_memory(graph, alignment=alignment).arena_bytes` without making the
    plan, when `values` are the shapes that plan infers (`infer_shapes(graph)`): twice the sum of
    the aligned sizes of every static-size value a node produces. (The plan places buffers largest
    first, each at the lowest offset free of the placed buffers live with it: every gap below
    that offset is narrower than the buffer, and so than each placed buffer above the gap, so
    the offset is less than twice the bytes of those buffers.)"""
    external = {v.name for v in graph.inputs} | set(graph.initializers)
    total = 0
    for node in graph.nodes:
        for name in node.outputs:
            if name and name not in external:
                found = _static_size(values.get(name))
                if not isinstance(found, str):
                    total += _round_up(found[2], alignment)
    return 2 * total


def with_input_shapes(graph: Graph, input_shapes: Mapping[str, tuple[int, ...]] | None) -> Graph:
    """The graph with some inputs' declared shapes replaced (to fix dynamic dims). Inside an
    inference_cache block the same graph and shapes give the same graph object, so its shapes
    are inferred once."""
    if not input_shapes:
        return graph
    memo = derived_graphs()
    key = (id(graph), tuple(sorted((k, tuple(v)) for k, v in input_shapes.items())))
    if memo is not None and key in memo and memo[key][0] is graph:
        return memo[key][1]  # type: ignore[no-any-return]
    inputs = [
        Value(v.name, v.dtype, tuple(input_shapes[v.name]), v.kind) if v.name in input_shapes else v
        for v in graph.inputs
    ]
    derived = dataclasses.replace(graph, inputs=inputs)
    if memo is not None:
        memo[key] = (graph, derived)
    return derived


# ---- lifetimes and sizes ---------------------------------------------------------------------
def _bodies_of(order: list[Node]) -> list[tuple[Graph, ...]]:
    """Each node's subgraphs (Node.subgraphs), found once for the plan's several walks."""
    return [tuple(node.subgraphs()) if node.attrs else () for node in order]


def _lifetimes(
    graph: Graph, order: list[Node], bodies: list[tuple[Graph, ...]]
) -> tuple[dict[str, int], dict[str, int]]:
    """First (writing) and last (reading) step per name produced by a node, as the interpreter
    releases them; graph outputs last until len(order). `bodies`: _bodies_of(order)."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for step, node in enumerate(order):
        for name in node.inputs:
            if name:
                last[name] = step
        for body in bodies[step]:
            for name in body.free_names():
                last[name] = step
        for name in node.outputs:
            if name:
                first[name] = step
                if name not in last:  # an unused output dies where it is born
                    last[name] = step
    for v in graph.outputs:
        if v.name in first:
            last[v.name] = len(order)
    return first, last


def _weights_only(
    order: list[Node], bodies: list[tuple[Graph, ...]], fixed: Mapping[str, np.ndarray]
) -> set[str]:
    """Names computed from initializers and Constants alone (what constant folding removes).
    `bodies`: _bodies_of(order); `fixed`: the graph's constant_initializers()."""
    known = set(fixed)
    out: set[str] = set()
    for step, node in enumerate(order):
        ins = [i for i in node.inputs if i]
        is_constant = node.op_type == "Constant" or (
            ins and all(i in known for i in ins) and node.op_type not in NONDETERMINISTIC_OPS
        )
        if is_constant and node.domain in ("", "ai.onnx") and not bodies[step]:
            names = {o for o in node.outputs if o}
            known |= names
            out |= names
    return out


MAX_PLANNED_BYTES = 1 << 48  # offsets stay exact int64 arithmetic far below this


def _static_size(v: Value | None) -> tuple[str, tuple[int, ...], int] | str:
    """(dtype, shape, nbytes), or why the size is not known statically."""
    if v is None:
        return "no inferred type"
    if v.kind != "tensor":
        return f"{v.kind} value"
    if v.dtype is None:
        return "unknown dtype"
    if v.dtype == "string":
        return "string tensor (variable size)"
    if v.shape is None:
        return "unknown rank"
    shape: tuple[int, ...] = v.shape  # type: ignore[assignment]
    if not all([type(d) is int for d in shape]):  # (the common case: plain ints, kept as is)
        dynamic = [d for d in v.shape if not isinstance(d, int)]
        if dynamic:
            return "dynamic dims " + ", ".join("?" if d is None else str(d) for d in dynamic)
        shape = tuple(int(d) for d in v.shape)  # type: ignore[arg-type]
    nbytes = math.prod(shape) * _itemsize(v.dtype)
    if nbytes > MAX_PLANNED_BYTES:  # a session refuses it (memory budget); a plan leaves it out
        return f"{nbytes:.3g} bytes, more than any arena can hold"
    return v.dtype, shape, nbytes


def _itemsize(dtype: str) -> int:
    size = _ITEMSIZE.get(dtype)
    if size is None:
        size = _ITEMSIZE[dtype] = to_numpy(dtype).itemsize
    return size


_ITEMSIZE: dict[str, int] = {}  # dtype name -> bytes per element


def _body_nodes(graph: Graph) -> list[tuple[Graph, Node]]:
    return [(g, node) for g, node in graph.walk() if g is not graph]


# ---- sharing: views and in-place -------------------------------------------------------------
def _share(
    order: list[Node],
    sizes: dict[str, tuple[str, tuple[int, ...], int]],
    last: dict[str, int],
    outputs: set[str],
    alignment: int,
    initializers: Mapping[str, np.ndarray],
) -> tuple[list[list[str]], dict[str, tuple[str, str]], dict[str, int]]:
    """Groups of tensors sharing one buffer, how each non-owner shares, and the byte place of
    each tensor that does not start at its buffer's start (parts, and views of them)."""
    group_of: dict[str, int] = {}
    groups: list[list[str]] = []
    how: dict[str, tuple[str, str]] = {}
    place: dict[str, int] = {}
    for step, node in enumerate(order):
        outs = [o for o in node.outputs if o]
        pieces = _pieces_of(node, sizes, group_of, outputs, alignment, initializers)
        if pieces:
            source = node.inputs[0]
            for out, at in pieces.items():
                group_of[out] = group_of[source]
                groups[group_of[out]].append(out)
                how[out] = ("view", source)
                place[out] = place.get(source, 0) + at
            continue
        if len(outs) == 1 and outs[0] in sizes and node.domain in ("", "ai.onnx"):
            out = outs[0]
            found = _share_with(node, out, step, sizes, group_of, groups, last)
            if found is not None:
                source, kind = found
                group_of[out] = group_of[source]
                groups[group_of[out]].append(out)
                how[out] = (kind, source)
                if source in place:
                    place[out] = place[source]
                continue
            parts = _parts_of(node, out, sizes, group_of, groups, how, place, outputs, alignment)
            if parts:
                group_of[out] = len(groups)
                groups.append([out])
                for g, base in parts.items():
                    members, groups[g] = groups[g], []  # the part's group moves into out's
                    for name in members:
                        group_of[name] = group_of[out]
                        groups[group_of[out]].append(name)
                        place[name] = base + place.get(name, 0)
                    how[members[0]] = ("part", out)  # its owner; views, in-place writes stay
                continue
        for out in outs:
            if out in sizes:
                group_of[out] = len(groups)
                groups.append([out])
    return [g for g in groups if g], how, place


def _pieces_of(
    node: Node,
    sizes: dict[str, tuple[str, tuple[int, ...], int]],
    group_of: dict[str, int],
    outputs: set[str],
    alignment: int,
    initializers: Mapping[str, np.ndarray],
) -> dict[str, int]:
    """Output -> byte place in the input for a Split or Slice whose outputs can be views of
    blocks of its input (see the module docstring), else {}."""
    if node.op_type not in ("Split", "Slice") or node.domain not in ("", "ai.onnx"):
        return {}
    source, outs = (node.inputs or [""])[0], list(node.outputs)
    if source not in group_of or not outs or any(not o or o not in sizes for o in outs):
        return {}
    dtype, shape, nbytes = sizes[source]
    if node.op_type == "Slice":
        out = outs[0]
        at = _slice_block(node, shape, initializers)
        if at is None or out in outputs or sizes[out][0] != dtype:
            return {}
        at *= np.dtype(to_numpy(dtype)).itemsize
        fits = at % alignment == 0 and at + sizes[out][2] <= nbytes
        return {out: at} if fits else {}
    axis = int(node.attrs.get("axis", 0))
    if not -len(shape) <= axis < len(shape) or math.prod(shape[: axis % len(shape)]) != 1:
        return {}
    places: dict[str, int] = {}
    at = 0
    for out in outs:
        if out in outputs or out in places or sizes[out][0] != dtype or at % alignment:
            return {}
        places[out] = at
        at += sizes[out][2]
    return places if at == nbytes else {}


def _slice_block(
    node: Node, shape: tuple[int, ...], initializers: Mapping[str, np.ndarray]
) -> int | None:
    """The element offset of a Slice's output in its input when the output is one contiguous
    block of it (bounds constant, step 1, every axis before the sliced one of size 1, every axis
    after it whole), else None."""
    if "starts" in node.attrs:  # Slice-1: attributes
        raw = [node.attrs.get(k) for k in ("starts", "ends", "axes")] + [None]
    else:
        names = list(node.inputs[1:5]) + [""] * (5 - len(node.inputs))
        if any(n and n not in initializers for n in names[:4]) or not names[0] or not names[1]:
            return None
        raw = [initializers[n].reshape(-1).tolist() if n else None for n in names[:4]]
    starts, ends = raw[0], raw[1]
    if starts is None or ends is None or len(starts) != len(ends):
        return None
    axes = raw[2] if raw[2] is not None else list(range(len(starts)))
    steps = raw[3] if raw[3] is not None else [1] * len(starts)
    if len(axes) != len(starts) or len(steps) != len(starts):
        return None
    bounds = [(0, d) for d in shape]
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if not -len(shape) <= axis < len(shape) or step != 1:
            return None
        first, stop, _ = slice(int(start), int(end), 1).indices(shape[axis])
        bounds[axis] = (first, max(first, stop))
    cut = [a for a, (lo, hi) in enumerate(bounds) if (lo, hi) != (0, shape[a])]
    if not cut:
        return 0
    a = cut[0]
    if len(cut) > 1 or math.prod(shape[:a]) != 1:
        return None
    return bounds[a][0] * math.prod(shape[a + 1 :])


def _parts_of(
    node: Node,
    out: str,
    sizes: dict[str, tuple[str, tuple[int, ...], int]],
    group_of: dict[str, int],
    groups: list[list[str]],
    how: dict[str, tuple[str, str]],
    place: dict[str, int],
    outputs: set[str],
    alignment: int,
) -> dict[int, int]:
    """Group -> byte place of its owner in `out`, for a Concat whose inputs can live inside its
    output with the buffers they share (see the module docstring), else {}. Each input's group
    (its owner, the views of it, the in-place writes over it) must be covered exactly by a run
    of consecutive inputs, each at its place in the group, so the owner's bytes are the run's
    bytes of `out` (one input with a buffer of its own: a run of one)."""
    if node.op_type != "Concat" or out in outputs:
        return {}
    ins = list(node.inputs)
    dtype, shape, _ = sizes[out]
    axis = node.attrs.get("axis")
    if axis is None or not ins or len(set(ins)) != len(ins) or not -len(shape) <= axis < len(shape):
        return {}
    axis %= len(shape)
    if math.prod(shape[:axis]) != 1:
        return {}
    grouped = concat_groups()
    bases: dict[int, int] = {}  # group -> its owner's place in out
    extent: dict[int, int] = {}  # group -> the bytes its members span from the owner's start
    at, previous = 0, -1
    for name in ins:
        if name not in sizes or sizes[name][0] != dtype or at % alignment:
            return {}
        g = group_of[name]
        if g != previous:
            if g in bases or (previous >= 0 and at != bases[previous] + extent[previous]):
                return {}  # a group's inputs apart, or the previous run short of its group
            members = groups[g]
            if place.get(name, 0) or not _movable(members, how, outputs, grouped):
                return {}
            bases[g] = at
            extent[g] = max(place.get(m, 0) + sizes[m][2] for m in members)
        elif bases[g] + place.get(name, 0) != at:
            return {}  # not at its place in the group
        at += sizes[name][2]
        previous = g
    if at != sizes[out][2] or at != bases[previous] + extent[previous]:
        return {}
    return bases


def _movable(
    members: list[str], how: dict[str, tuple[str, str]], outputs: set[str], grouped: bool
) -> bool:
    """Whether a buffer's tensors may move into a Concat's output: none is a graph output and
    none is a part already (one Concat per buffer); with grouped False (GOSSAMER_CONCAT_GROUPS=0)
    only a tensor with a buffer of its own."""
    if not grouped and len(members) != 1:
        return False
    return not any(m in outputs or how.get(m, ("own",))[0] == "part" for m in members)


def concat_groups() -> bool:
    """Whether a Concat input that shares its buffer (a view of a block, an in-place write) may
    move into the Concat's output with that buffer; GOSSAMER_CONCAT_GROUPS=0: only inputs with
    a buffer of their own (for measurements)."""
    return os.environ.get("GOSSAMER_CONCAT_GROUPS", "1").strip() != "0"


def _share_with(
    node: Node,
    out: str,
    step: int,
    sizes: dict[str, tuple[str, tuple[int, ...], int]],
    group_of: dict[str, int],
    groups: list[list[str]],
    last: dict[str, int],
) -> tuple[str, str] | None:
    """(input, "view" or "inplace") whose buffer `out` may take over, or None."""
    op = node.op_type
    if op in VIEW_OPS:
        candidates, kind = node.inputs[:1], "view"
    elif op in UNARY_INPLACE:
        candidates, kind = node.inputs[:1], "inplace"
    elif op in BINARY_INPLACE:
        candidates, kind = node.inputs[:2], "inplace"
    else:
        return None
    for name in candidates:
        if name not in group_of or sizes[name][0] != sizes[out][0]:
            continue
        if kind == "view":
            if sizes[name][2] == sizes[out][2]:
                return name, kind
            continue
        group = group_of[name]
        others = [i for i in node.inputs if i and i != name and group_of.get(i) == group]
        dies_here = all(last[member] <= step for member in groups[group])
        if sizes[name][1] == sizes[out][1] and dies_here and not others:
            return name, kind
    return None


# ---- placement -------------------------------------------------------------------------------
def _place(
    groups: list[list[str]],
    sizes: dict[str, tuple[str, tuple[int, ...], int]],
    first: dict[str, int],
    last: dict[str, int],
    alignment: int,
) -> list[Buffer]:
    """Greedy by size: largest buffer first, at the lowest offset free during its lifetime."""
    spans = [
        (
            (-(-sizes[g[0]][2] // alignment) * alignment, first[g[0]], last[g[0]])
            if len(g) == 1  # (most groups: a tensor with a buffer of its own)
            else (
                _round_up(max(sizes[m][2] for m in g), alignment),
                min(first[m] for m in g),
                max(last[m] for m in g),
            )
        )
        for g in groups
    ]
    order = sorted(range(len(groups)), key=lambda i: (-spans[i][0], spans[i][1], i))
    if len(groups) <= SMALL_PLACEMENT:
        offsets = _place_small(order, spans)
        return [Buffer(offsets[i], spans[i][0], spans[i][1], spans[i][2], tuple(groups[i]))
                for i in range(len(groups))]  # fmt: skip
    placed_first = np.empty(len(groups), np.int64)
    placed_last = np.empty(len(groups), np.int64)
    placed_lo = np.empty(len(groups), np.int64)
    placed_hi = np.empty(len(groups), np.int64)
    offsets = [0] * len(groups)
    count = 0
    for i in order:
        size, lo_step, hi_step = spans[i]
        if size == 0:
            continue
        k = slice(0, count)
        clash = (placed_first[k] <= hi_step) & (placed_last[k] >= lo_step)
        offset = 0
        for lo, hi in sorted(zip(placed_lo[k][clash].tolist(), placed_hi[k][clash].tolist())):
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        offsets[i] = offset
        placed_first[count], placed_last[count] = lo_step, hi_step
        placed_lo[count], placed_hi[count] = offset, offset + size
        count += 1
    return [Buffer(offsets[i], spans[i][0], spans[i][1], spans[i][2], tuple(groups[i]))
            for i in range(len(groups))]  # fmt: skip


# buffers up to this many are placed with plain lists (a small graph's plan, at its first run
# per input shape: numpy's per-call cost is most of the time there); more with numpy's masks
SMALL_PLACEMENT = 96


def _place_small(order: list[int], spans: list[tuple[int, int, int]]) -> list[int]:
    """_place's offsets, in the same order by the same rule, without numpy."""
    offsets = [0] * len(spans)
    placed: list[tuple[int, int, int, int]] = []  # (first, last, lo, hi) of each placed buffer
    for i in order:
        size, lo_step, hi_step = spans[i]
        if size == 0:
            continue
        offset = 0
        clash = [(lo, hi) for f, la, lo, hi in placed if f <= hi_step and la >= lo_step]
        for lo, hi in sorted(clash):
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        offsets[i] = offset
        placed.append((lo_step, hi_step, offset, offset + size))
    return offsets


def _round_up(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment
