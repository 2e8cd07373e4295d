"""Transpose sinking (O3): moves Transposes down through layout-agnostic ops until pairs cancel.

Rewrite: for t = Transpose(x, p) and every reader N of t, N(t, ...) becomes Transpose(N'(x, ...), p)
where N' is N re-expressed on x's layout:
  - element-wise unary ops and activations (Relu, Clip, Sigmoid, Tanh, HardSwish, LeakyRelu, ...):
    N' = N;
  - broadcasting element-wise ops (Add, Mul, Max, Where, Equal, ...): every other input is either a
    constant, aligned to rank len(p) as numpy broadcasting does and permuted by p's inverse (an NHWC
    per-channel [C] becomes [C,1,1] for NCHW), or the output of a Transpose with the same p, read
    from that Transpose's input;
  - Pad: pads permuted; Concat, Split: axis mapped to p[axis] (Concat's constant inputs permuted);
  - ReduceMax, ReduceMin: axes mapped to p[axes]; with keepdims=0 the Transpose after it permutes
    the kept axes only (and disappears when that is the identity);
  - a reader that is itself Transpose(t, p2) becomes Transpose(x, p[p2]), or goes when that is the
    identity (a cancelled pair).
Moves repeat until no Transpose can move (a fixed point); the merged pairs are cancelled here.
Preconditions: p is explicit; t is no graph output and not read by a nested body; every reader of t
can take the move, and the move makes no more Transposes than it removes or puts right before
their inverses (so one t read by two activations stays); constants, pads and axes are constants.
Only data movement is reordered, so results are bit-identical; that is why ReduceSum, ReduceMean
and Softmax are not moved through (their summation order would change with the layout). A run that
ends with more Transposes than it began with is undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...refimpl.ir import Graph, Node
from .rewrite import GraphView, copy_graph, default_opset, is_standard, iter_ops

NAME = "transpose_sinking"
LEVEL = 3

UNARY = frozenset(
    "Abs Acos Acosh Asin Asinh Atan Atanh Cast Ceil Celu Cos Cosh Elu Erf Exp Floor Gelu "
    "HardSigmoid HardSwish Identity IsInf IsNaN LeakyRelu Log Mish Neg Not Reciprocal Relu Round "
    "Selu Sigmoid Sign Sin Sinh Softplus Softsign Sqrt Tan Tanh ThresholdedRelu".split()
)
BROADCASTING = frozenset(
    "Add And BitShift Div Equal Greater GreaterOrEqual Less LessOrEqual Max Mean Min Mod Mul Or "
    "Pow PRelu Sub Sum Where Xor".split()
)
EXACT_REDUCTIONS = frozenset({"ReduceMax", "ReduceMin"})
MAX_ROUNDS = 1000


def inverse(perm: list[int]) -> list[int]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


@dataclass
class _Move:
    """What moving one Transpose into one reader does: `created` new Transposes, `cancels`
    Transposes removed besides the moved one, and `apply` the edit (given the moved node)."""

    created: int
    cancels: int
    apply: Callable[[Node], None]


@dataclass
class _New:
    """A constant to add to the graph when the move applies (not before: it may not)."""

    base: str
    value: np.ndarray
    key: tuple[str, tuple[int, ...]] | None = None


Source = str | _New | None  # an input's new name; None: the moved Transpose's input


class _Sinker:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.view = GraphView(graph)
        self.opset = default_opset(graph)
        self._permuted: dict[tuple[str, tuple[int, ...]], str] = {}

    # ---- the driver ------------------------------------------------------------------------------
    def sink(self, t: Node) -> str | None:
        """Moves `t` into all its readers; a description of the move, or None if it cannot move."""
        view = self.view
        perm = t.attrs.get("perm")
        out = t.outputs[0]
        if perm is None or out in view.outputs or out in view.body_reads:
            return None
        perm = [int(i) for i in perm]
        readers = list(view.consumers.get(out, []))
        if not readers:
            return None
        moves = [self._move(n, out, perm) for n in readers]
        if any(m is None for m in moves):
            return None
        ready = [m for m in moves if m is not None]
        if sum(m.created for m in ready) > 1 + sum(m.cancels for m in ready):
            return None
        for m in ready:  # a cancelled pair may rename t's input, so each move reads it afresh
            m.apply(t)
        if not view.is_used(out):
            view.replace([t], [])
        return f"{t.name} -> {', '.join(n.name for n in readers)}"

    def _move(self, node: Node, name: str, perm: list[int]) -> _Move | None:
        if not is_standard(node) or len(node.outputs) < 1:
            return None
        op = node.op_type
        if op == "Transpose":
            return self._into_transpose(node, perm)
        if op in UNARY or op == "Clip":
            extra = node.inputs[1:]
            if node.inputs[0] != name or name in extra:
                return None
            if op == "Clip" and any(e and self.view.scalar(e) is None for e in extra):
                return None
            return self._rewire(node, perm, {0: None})
        if op in BROADCASTING or op == "Concat":
            return self._broadcasting(node, name, perm)
        if op == "Pad":
            return self._pad(node, name, perm)
        if op == "Split":
            axis = int(node.attrs.get("axis", 0)) % len(perm)
            if node.inputs[0] != name or name in node.inputs[1:]:
                return None
            return self._rewire(node, perm, {0: None}, {"axis": perm[axis]})
        if op in EXACT_REDUCTIONS:
            return self._reduction(node, name, perm)
        return None

    # ---- moves -----------------------------------------------------------------------------------
    def _into_transpose(self, node: Node, perm: list[int]) -> _Move | None:
        p2 = node.attrs.get("perm")
        if p2 is None or len(p2) != len(perm):
            return None
        merged = [perm[int(i)] for i in p2]
        view = self.view
        if merged != list(range(len(merged))):
            return _Move(0, 0, lambda t: self._set_transpose(node, t.inputs[0], merged))
        drop = node.outputs[0]
        if drop in view.outputs:
            keep = self._input_of_transpose(node)
            if keep in view.outputs or keep not in view.producer or keep in view.feedable:
                return None

        def apply(t: Node) -> None:
            view.bypass(node, t.inputs[0], drop)

        return _Move(0, 1, apply)

    def _input_of_transpose(self, node: Node) -> str:
        producer = self.view.producer.get(node.inputs[0])
        return producer.inputs[0] if producer is not None else ""

    def _set_transpose(self, node: Node, source: str, perm: list[int]) -> None:
        self.view.set_input(node, 0, source)
        node.attrs["perm"] = perm

    def _broadcasting(self, node: Node, name: str, perm: list[int]) -> _Move | None:
        rank = len(perm)
        sources: dict[int, Source] = {}
        for i, inp in enumerate(node.inputs):
            if inp == name:
                sources[i] = None  # t's input, known when the move applies
                continue
            other = self.view.producer_of(inp, "Transpose") if inp else None
            if other is not None and [int(p) for p in other.attrs.get("perm", [])] == perm:
                sources[i] = other.inputs[0]
                continue
            value = self.view.constant(inp)
            if (
                value is None
                or value.ndim > rank
                or (node.op_type == "Concat" and value.ndim != rank)
            ):
                return None
            sources[i] = self._permuted_constant(inp, value, perm)
        attrs: dict[str, object] = {}
        if node.op_type == "Concat":
            attrs["axis"] = perm[int(node.attrs["axis"]) % rank]
        return self._rewire(node, perm, sources, attrs)

    def _pad(self, node: Node, name: str, perm: list[int]) -> _Move | None:
        rank = len(perm)
        if node.inputs[0] != name or name in node.inputs[1:]:
            return None
        if len(node.inputs) > 3 and node.inputs[3]:
            return None  # explicit axes (opset 18): not worth mapping
        from_attr = self.opset < 11 or len(node.inputs) < 2
        pads = node.attrs.get("pads") if from_attr else self.view.constant(node.inputs[1])
        if pads is None or len(pads) != 2 * rank:
            return None
        pads = np.asarray(pads)
        inv = inverse(perm)
        moved = np.concatenate([pads[:rank][inv], pads[rank:][inv]])
        if from_attr:
            return self._rewire(node, perm, {0: None}, {"pads": [int(v) for v in moved]})
        pads_value = _New(f"{node.inputs[1]}_permuted", moved.astype(np.int64))
        return self._rewire(node, perm, {0: None, 1: pads_value})

    def _reduction(self, node: Node, name: str, perm: list[int]) -> _Move | None:
        rank = len(perm)
        if node.inputs[0] != name or name in node.inputs[1:]:
            return None
        axes_input = len(node.inputs) > 1 and bool(node.inputs[1])
        axes = self.view.constant(node.inputs[1]) if axes_input else node.attrs.get("axes")
        if axes_input and axes is None:
            return None
        if axes is None or len(axes) == 0:  # no axes: the identity or a reduction of all axes
            noop = node.attrs.get("noop_with_empty_axes", 0)
            keep = noop or node.attrs.get("keepdims", 1)
            return self._rewire(node, perm if keep else [], {0: None})
        reduced = sorted({int(a) % rank for a in axes})
        new_axes = sorted(perm[a] for a in reduced)
        sources: dict[int, Source] = {0: None}
        attrs: dict[str, object] = {}
        if axes_input:
            sources[1] = _New(f"{node.inputs[1]}_permuted", np.asarray(new_axes, np.int64))
        else:
            attrs["axes"] = new_axes
        after = perm
        if not node.attrs.get("keepdims", 1):
            kept = [perm[i] for i in range(rank) if i not in reduced]
            after = [sorted(kept).index(a) for a in kept]
        return self._rewire(node, after, sources, attrs)

    def _rewire(self, node: Node, after: list[int], sources: dict[int, Source],
                attrs: dict[str, object] | None = None) -> _Move:  # fmt: skip
        """N reads `sources` and takes `attrs`; Transpose(after) restores each used output (no
        Transpose when `after` is the identity)."""
        view = self.view
        identity = after == list(range(len(after)))
        used = [o for o in node.outputs if o and view.is_used(o)]

        def apply(t: Node) -> None:
            replaced = Node(node.op_type, list(node.inputs), list(node.outputs),
                            {**node.attrs, **(attrs or {})}, node.name, node.domain)  # fmt: skip
            for i, s in sources.items():
                replaced.inputs[i] = t.inputs[0] if s is None else self._materialise(s)
            after_nodes = []
            if not identity:
                for k, o in enumerate(replaced.outputs):
                    if o and o not in used:  # an unread output changes layout: a new name
                        replaced.outputs[k] = view.fresh(f"{o}_transposed")
                    if o not in used:
                        continue
                    inner = view.fresh(f"{o}_transposed")
                    replaced.outputs[k] = inner
                    after_nodes.append(Node("Transpose", [inner], [o], {"perm": list(after)},
                                            view.fresh(f"{node.name}_transpose")))  # fmt: skip
            dropped = [view.producer.get(i) for i in node.inputs if i]
            view.replace([node], [replaced, *after_nodes])
            for other in dropped:  # a same-perm Transpose read by nothing else any more
                if (other is not None and other is not t and other.op_type == "Transpose"
                        and view.alive(other) and not view.is_used(other.outputs[0])):  # fmt: skip
                    view.replace([other], [])

        if identity:
            return _Move(0, self._cancelled(node, sources), apply)
        meets = sum(1 for o in used if self._meets_inverse(o, after))
        return _Move(len(used), self._cancelled(node, sources) + meets, apply)

    def _meets_inverse(self, name: str, perm: list[int]) -> bool:
        """`name` is read only by Transposes that undo `perm`: a Transpose put there cancels."""
        readers = self.view.consumers.get(name, [])
        if not readers or name in self.view.outputs or name in self.view.body_reads:
            return False
        inv = inverse(perm)
        return all(
            n.op_type == "Transpose" and is_standard(n) and n.attrs.get("perm") is not None
            and [int(i) for i in n.attrs["perm"]] == inv
            for n in readers
        )  # fmt: skip

    def _cancelled(self, node: Node, sources: dict[int, Source]) -> int:
        """Same-perm Transposes that only `node` reads: they go with the move."""
        count = 0
        for i, s in sources.items():
            if not isinstance(s, str):
                continue
            other = self.view.producer_of(node.inputs[i], "Transpose")
            if (
                other is not None
                and other.inputs[0] == s
                and self.view.sole_consumer(other.outputs[0]) is node
            ):
                count += 1
        return count

    def _materialise(self, source: str | _New) -> str:
        if isinstance(source, str):
            return source
        if source.key is not None and source.key in self._permuted:
            return self._permuted[source.key]
        name = self.view.add_initializer(source.base, source.value)
        if source.key is not None:
            self._permuted[source.key] = name
        return name

    def _permuted_constant(self, name: str, value: np.ndarray, perm: list[int]) -> str | _New:
        rank = len(perm)
        key = (name, tuple(perm))
        if key in self._permuted:
            return self._permuted[key]
        full = value.reshape((1,) * (rank - value.ndim) + value.shape)
        moved = np.ascontiguousarray(full.transpose(inverse(perm)))
        while moved.ndim > value.ndim and moved.shape[0] == 1:
            moved = moved[0]  # drop leading unit dims: broadcasting restores them
        if moved.shape == value.shape:
            return name  # the same values in the same order
        return _New(f"{name}_permuted", moved, key)


def _transposes(graph: Graph) -> int:
    return sum(1 for n in graph.nodes if n.op_type == "Transpose" and is_standard(n))


def run(graph: Graph) -> list[str]:
    saved = copy_graph(graph)
    sinker = _Sinker(graph)
    changed: list[str] = []
    for _ in range(MAX_ROUNDS):
        moved = False
        for t in iter_ops(graph, "Transpose"):
            if sinker.view.alive(t):
                change = sinker.sink(t)
                if change is not None:
                    changed.append(change)
                    moved = True
        if not moved:
            break
    if _transposes(graph) > _transposes(saved):
        graph.nodes[:] = saved.nodes
        graph.initializers.clear()
        graph.initializers.update(saved.initializers)
        return []
    return changed
