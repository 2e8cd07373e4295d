"""What inference knows about the names of one graph: the Value env and the tracked small tensors.

A `Scope` holds the Value (dtype, shape) of each name, the known constant tensors and the small
integer tensors tracked element by element (`Sym`), falling back to the enclosing graph's scope.
Also here: the rule type, the rule-table decorator and the small node helpers the rules share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dtypes import DTYPE_NAMES, ONNX_TYPE_CODES, name_of, to_numpy
from ..ir import Dim, Graph, Node, Value
from .symbolic import Elem, Shape, is_num

SYM_LIMIT = 1024  # longest integer vector tracked element by element


@dataclass
class Sym:
    """A small integer tensor (0-d or 1-d) known element by element; an element may be a symbol."""

    elems: list[Elem]
    scalar: bool


# infer_graph(graph, parent, result, fresh, bound_inputs): how a rule infers a subgraph
GraphInferrer = Callable[
    [Graph, "Scope | None", dict[str, Value], Iterator[int], dict[str, Value]], "Scope"
]


class Scope:
    """What is known about the names of one graph, falling back to the enclosing graphs."""

    def __init__(
        self,
        graph: Graph,
        parent: Scope | None,
        fresh: Iterator[int],
        result: dict[str, Value],
        infer_graph: GraphInferrer,
    ) -> None:
        self.graph = graph
        self.parent = parent
        self.fresh = fresh
        self.result = result  # where every graph, subgraphs included, publishes its Values
        self.infer_graph = infer_graph
        self.opset = graph.opsets.get("", graph.opsets.get("ai.onnx", 21))
        self.values: dict[str, Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.syms: dict[str, Sym] = {}

    def _lookup(self, table: str, name: str) -> Any:
        if self.parent is None:  # (the top-level graph: one table)
            return getattr(self, table).get(name)
        scope: Scope | None = self
        while scope is not None:
            found = getattr(scope, table).get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def value(self, name: str) -> Value:
        return (self._lookup("values", name) if name else None) or Value(name)

    def shape(self, name: str) -> Shape:
        return self.value(name).shape

    def dtype(self, name: str) -> str | None:
        return self.value(name).dtype

    def const(self, name: str) -> np.ndarray | None:
        return self._lookup("consts", name) if name else None

    def sym(self, name: str) -> Sym | None:
        if not name:
            return None
        found = self._lookup("syms", name)
        if found is not None:
            return found
        arr = self.const(name)
        if arr is None or arr.dtype.kind not in "iubf" or arr.ndim > 1 or arr.size > SYM_LIMIT:
            return None
        sym = Sym(arr.reshape(-1).tolist(), arr.ndim == 0)
        self.syms[name] = sym
        return sym

    def ints(self, name: str) -> list[int] | None:
        """The values of a small known integer tensor (None when not known exactly)."""
        sym = self.sym(name)
        if sym is None or not all(is_num(e) and float(e).is_integer() for e in sym.elems):
            return None
        return [int(e) for e in sym.elems]

    def array(self, name: str) -> np.ndarray | None:
        """A known tensor's value (also built from tracked elements that are all numbers)."""
        arr = self.const(name)
        if arr is not None:
            return arr
        sym = self._lookup("syms", name) if name else None
        dtype = self.dtype(name)
        if sym is None or dtype is None or not all(is_num(e) for e in sym.elems):
            return None
        values = np.array(sym.elems, dtype=to_numpy(dtype))
        return values.reshape(()) if sym.scalar else values

    def numbers(self, name: str) -> list[float] | None:
        arr = self.const(name)
        if arr is not None and arr.dtype.kind in "fiub" and arr.size <= SYM_LIMIT:
            return [float(x) for x in arr.reshape(-1)]
        sym = self.sym(name)
        if sym is None or not all(is_num(e) for e in sym.elems):
            return None
        return [float(e) for e in sym.elems]

    def shape_held(self, name: str) -> Shape:
        """The shape a 1-D shape tensor holds: its tracked elements, else its length in unknowns."""
        sym = self.sym(name)
        if sym is not None:
            return tuple(sym.elems)
        length = (self.shape(name) or (None,))[0]
        return (None,) * length if isinstance(length, int) else None

    def new_symbol(self) -> str:
        return f"unk__{next(self.fresh)}"

    def set(self, name: str, dtype: str | None, shape: Shape, kind: str = "tensor") -> None:
        if not name:
            return
        if shape is not None:
            shape = tuple(map(clean_dim, shape))
        self.values[name] = Value(name, dtype, shape, kind)

    def set_sym(self, name: str, dtype: str | None, elems: list[Elem], scalar: bool) -> None:
        if not name or len(elems) > SYM_LIMIT:
            return
        self.syms[name] = Sym(list(elems), scalar)
        self.set(name, dtype, () if scalar else (len(elems),))

    def infer_subgraph(self, body: Graph, bound_inputs: dict[str, Value]) -> Scope:
        """Infers a subgraph (If branch, Loop/Scan body) nested in this scope."""
        return self.infer_graph(body, self, self.result, self.fresh, bound_inputs)


def clean_dim(d: Elem) -> Dim:
    if type(d) is int:  # (most dims)
        return d if d >= 0 else None
    if d is None:
        return None
    if isinstance(d, str):
        return None if d in ("", "?") else d
    if isinstance(d, float) and not d.is_integer():
        return None
    d = int(d)
    return d if d >= 0 else None


def clean_shape(shape: Shape) -> Shape:
    return None if shape is None else tuple(map(clean_dim, shape))


def rank_of(shape: Shape) -> int | None:
    return None if shape is None else len(shape)


def norm_axis(axis: int, rank: int | None) -> int | None:
    if rank is None:
        return axis if axis >= 0 else None
    axis = axis + rank if axis < 0 else axis
    return axis if 0 <= axis < max(rank, 1) else None


def array_dtype(arr: np.ndarray) -> str | None:
    try:
        return name_of(arr.dtype)
    except Exception:
        return None


def dtype_from_onnx(code: Any) -> str | None:
    """The IR dtype name for an ONNX TensorProto element-type code (or an IR name)."""
    if isinstance(code, str):
        return code if code in DTYPE_NAMES else None
    try:
        return ONNX_TYPE_CODES.get(int(code))
    except (TypeError, ValueError):
        return None


def out_name(node: Node, i: int = 0) -> str:
    return node.outputs[i] if i < len(node.outputs) else ""


def in_name(node: Node, i: int) -> str:
    return node.inputs[i] if i < len(node.inputs) else ""


def axes_of(s: Scope, n: Node, input_index: int) -> tuple[list[int] | None, bool]:
    """(axes, given): the axes attribute or constant input; given=False when absent."""
    if "axes" in n.attrs:
        return list(n.attrs["axes"]), True
    name = in_name(n, input_index)
    if not name:
        return None, False
    return s.ints(name), True


Rule = Callable[[Scope, Node], None]


def rule_table(table: dict[str, Rule]) -> Callable[..., Callable[[Rule], Rule]]:
    """A decorator `@rule("OpA", "OpB")` that enters the function into `table` for those ops."""

    def rule(*ops: str) -> Callable[[Rule], Rule]:
        def mark(fn: Rule) -> Rule:
            for op in ops:
                table[op] = fn
            return fn

        return mark

    return rule
