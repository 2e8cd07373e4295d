"""Static shape and dtype inference over the IR.

`infer_shapes(graph)` walks the nodes in topological order from the graph inputs (whose declared
shapes are the feeding contract) and the initializers; declared output and value_info shapes are not
trusted. A dim is an int, a symbol ("N", or a derived expression such as "N*2" or "(H-3)//2+1") or
None (unknown); a shape of None means the rank is unknown. Small integer tensors that hold shapes
(Shape outputs, constant vectors and what Gather/Slice/Concat/arithmetic make of them) are tracked
element by element, symbols included, so that Reshape(x, Concat(Shape(x)[0:1], [-1])) infers.
Nothing here raises on a model it does not understand: an unknown rule yields an unknown Value.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .dtypes import DTYPE_NAMES, FLOAT, name_of, to_numpy
from .errors import GraphValidationError
from .ir import Dim, Graph, Node, Value

log = logging.getLogger(__name__)

ONNX_DTYPES: dict[int, str] = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8_e4m3fn",
    18: "float8_e4m3fnuz", 19: "float8_e5m2", 20: "float8_e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4_e2m1fn", 24: "float8_e8m0fnu", 25: "uint2", 26: "int2",
}  # fmt: skip
_SYM_LIMIT = 1024  # longest integer vector tracked element by element
_END = 2**31  # a Slice bound at or beyond this means "to the end"
Shape = tuple[Dim, ...] | None
Elem = Any  # an element of a tracked vector: int, float, bool, symbol string or None


def dtype_from_onnx(code: Any) -> str | None:
    """The IR dtype name for an ONNX TensorProto element-type code (or an IR name)."""
    if isinstance(code, str):
        return code if code in DTYPE_NAMES else None
    try:
        return ONNX_DTYPES.get(int(code))
    except (TypeError, ValueError):
        return None


# ---- symbolic dim arithmetic ----------------------------------------------------------------
def _num(d: object) -> bool:
    return isinstance(d, (int, float, np.integer, np.floating))


def _top_level(s: str) -> str:
    """The characters of s outside any parentheses."""
    depth, out = 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _wrap(s: Dim) -> str:
    text = str(s)
    return f"({text})" if any(ch in _top_level(text) for ch in "+-*/") else text


def _unwrap(s: str) -> str:
    """s without parentheses that enclose all of it."""
    while s.startswith("(") and s.endswith(")"):
        depth = 0
        for i, ch in enumerate(s):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(s) - 1:
                return s
        s = s[1:-1]
    return s


def _product(d: Elem) -> tuple[int, list[str]] | None:
    """d as coefficient * symbols, or None when unknown or not integral."""
    if d is None:
        return None
    if _num(d):
        return (int(d), []) if float(d).is_integer() else None
    d = _unwrap(d)
    top = _top_level(d)
    if any(ch in top for ch in "+-/") or "*" not in top:
        return 1, [d]
    coef, syms = 1, []
    for token in d.split("*"):
        if token.isdigit():
            coef *= int(token)
        else:
            syms.append(_unwrap(token))
    return coef, syms


def _format_product(coef: int, syms: Iterable[str]) -> Dim:
    names = sorted(syms)
    if coef == 0 or not names:
        return coef
    if coef == 1 and len(names) == 1:
        return names[0]
    return "*".join([_wrap(t) for t in names] + ([] if coef == 1 else [str(coef)]))


def _offset(s: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.+?)([+-]\d+)", s)
    if m and m.group(1)[-1] not in "*/(+-":
        return m.group(1), int(m.group(2))
    return s, 0


def dim_add(a: Elem, b: Elem) -> Dim:
    if a is None or b is None:
        return None
    if _num(a) and _num(b):
        return a + b
    if _num(a):
        a, b = b, a
    if _num(b):
        if not float(b).is_integer():
            return None
        base, off = _offset(a)
        total = off + int(b)
        return base if total == 0 else f"{base}{total:+d}"
    if a == b:
        return dim_mul(a, 2)
    return f"{a}+{_wrap(b) if '-' in _top_level(b) else b}"


def dim_sub(a: Elem, b: Elem) -> Dim:
    if a is None or b is None:
        return None
    if a == b:
        return 0
    if _num(b):
        return dim_add(a, -b)
    return f"{a}-{_wrap(b) if any(c in _top_level(b) for c in '+-') else b}"


def dim_mul(a: Elem, b: Elem) -> Dim:
    if (_num(a) and a == 0) or (_num(b) and b == 0):
        return 0
    if _num(a) and _num(b):
        return a * b
    pa, pb = _product(a), _product(b)
    if pa is None or pb is None:
        return None
    return _format_product(pa[0] * pb[0], pa[1] + pb[1])


def _divide_product(a: Elem, b: Elem) -> Dim:
    pa, pb = _product(a), _product(b)
    if pa is None or pb is None or pb[0] == 0 or pa[0] % pb[0]:
        return None
    rest = Counter(pa[1])
    rest.subtract(pb[1])
    if any(v < 0 for v in rest.values()):
        return None
    return _format_product(pa[0] // pb[0], rest.elements())


def dim_floordiv(a: Elem, b: Elem) -> Dim:
    if a is None or b is None or (_num(b) and b == 0):
        return None
    if _num(a) and _num(b):
        return int(a // b)
    if b == 1:
        return a
    exact = _divide_product(a, b)
    return exact if exact is not None else f"{_wrap(a)}//{_wrap(b)}"


def dim_ceildiv(a: Elem, b: Elem) -> Dim:
    if a is None or b is None or (_num(b) and b == 0):
        return None
    if _num(a) and _num(b):
        return int(-(-a // b))
    if b == 1:
        return a
    exact = _divide_product(a, b)
    return exact if exact is not None else f"ceil({_wrap(a)}/{_wrap(b)})"


def dims_product(dims: Iterable[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = dim_mul(out, d)
    return out


def broadcast_dim(a: Elem, b: Elem) -> Dim:
    """Multidirectional broadcast of one dim: 1 vs N -> N, N vs N -> N, N vs M -> unknown."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if _num(a) and b is None:
        return a
    if _num(b) and a is None:
        return b
    if _num(a) and isinstance(b, str):
        return a
    if _num(b) and isinstance(a, str):
        return b
    return None


def broadcast_shapes(*shapes: Shape) -> Shape:
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)  # type: ignore[arg-type]
    out: list[Dim] = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]  # type: ignore
        d = dims[0]
        for other in dims[1:]:
            d = broadcast_dim(d, other)
        out.append(d)
    return tuple(out)


def _merge_dim(a: Elem, b: Elem) -> Dim:
    """Two facts about the same dim: keep the known one, drop contradictions."""
    if a == b or b is None:
        return a
    if a is None:
        return b
    if _num(a) and not _num(b):
        return a
    if _num(b) and not _num(a):
        return b
    return None


def _join(a: Shape, b: Shape) -> Shape:
    """A shape valid for both branches (If) or all iterations (Loop)."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))


# ---- scope -----------------------------------------------------------------------------------
@dataclass
class _Sym:
    """A small integer tensor (0-d or 1-d) known element by element; an element may be a symbol."""

    elems: list[Elem]
    scalar: bool


class _Scope:
    """What is known about the names of one graph, falling back to the enclosing graphs."""

    def __init__(
        self, graph: Graph, parent: _Scope | None, fresh: Iterator[int], result: dict[str, Value]
    ) -> None:
        self.graph = graph
        self.parent = parent
        self.fresh = fresh
        self.result = result  # where every graph, subgraphs included, publishes its Values
        self.opset = graph.opsets.get("", graph.opsets.get("ai.onnx", 21))
        self.values: dict[str, Value] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.syms: dict[str, _Sym] = {}

    def _lookup(self, table: str, name: str) -> Any:
        scope: _Scope | None = self
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

    def sym(self, name: str) -> _Sym | None:
        if not name:
            return None
        found = self._lookup("syms", name)
        if found is not None:
            return found
        arr = self.const(name)
        if arr is None or arr.dtype.kind not in "iubf" or arr.ndim > 1 or arr.size > _SYM_LIMIT:
            return None
        sym = _Sym(arr.reshape(-1).tolist(), arr.ndim == 0)
        self.syms[name] = sym
        return sym

    def ints(self, name: str) -> list[int] | None:
        """The values of a small known integer tensor (None when not known exactly)."""
        sym = self.sym(name)
        if sym is None or not all(_num(e) and float(e).is_integer() for e in sym.elems):
            return None
        return [int(e) for e in sym.elems]

    def array(self, name: str) -> np.ndarray | None:
        """A known tensor's value (also built from tracked elements that are all numbers)."""
        arr = self.const(name)
        if arr is not None:
            return arr
        sym = self._lookup("syms", name) if name else None
        dtype = self.dtype(name)
        if sym is None or dtype is None or not all(_num(e) for e in sym.elems):
            return None
        values = np.array(sym.elems, dtype=to_numpy(dtype))
        return values.reshape(()) if sym.scalar else values

    def numbers(self, name: str) -> list[float] | None:
        arr = self.const(name)
        if arr is not None and arr.dtype.kind in "fiub" and arr.size <= _SYM_LIMIT:
            return [float(x) for x in arr.reshape(-1)]
        sym = self.sym(name)
        if sym is None or not all(_num(e) for e in sym.elems):
            return None
        return [float(e) for e in sym.elems]

    def new_symbol(self) -> str:
        return f"unk__{next(self.fresh)}"

    def set(self, name: str, dtype: str | None, shape: Shape, kind: str = "tensor") -> None:
        if not name:
            return
        if shape is not None:
            shape = tuple(_clean_dim(d) for d in shape)
        self.values[name] = Value(name, dtype, shape, kind)

    def set_sym(self, name: str, dtype: str | None, elems: list[Elem], scalar: bool) -> None:
        if not name or len(elems) > _SYM_LIMIT:
            return
        self.syms[name] = _Sym(list(elems), scalar)
        self.set(name, dtype, () if scalar else (len(elems),))


def _clean_dim(d: Elem) -> Dim:
    if d is None:
        return None
    if isinstance(d, str):
        return None if d in ("", "?") else d
    if isinstance(d, float) and not d.is_integer():
        return None
    d = int(d)
    return d if d >= 0 else None


def _clean_shape(shape: Shape) -> Shape:
    return None if shape is None else tuple(_clean_dim(d) for d in shape)


def _rank(shape: Shape) -> int | None:
    return None if shape is None else len(shape)


def _axis(axis: int, rank: int | None) -> int | None:
    if rank is None:
        return axis if axis >= 0 else None
    axis = axis + rank if axis < 0 else axis
    return axis if 0 <= axis < max(rank, 1) else None


def _array_dtype(arr: np.ndarray) -> str | None:
    try:
        return name_of(arr.dtype)
    except Exception:
        return None


# ---- driver ----------------------------------------------------------------------------------
Rule = Callable[[_Scope, Node], None]
_RULES: dict[str, Rule] = {}
_MS_RULES: dict[str, Rule] = {}


def _rule(*ops: str, table: dict[str, Rule] = _RULES) -> Callable[[Rule], Rule]:
    def mark(fn: Rule) -> Rule:
        for op in ops:
            table[op] = fn
        return fn

    return mark


def infer_shapes(graph: Graph) -> dict[str, Value]:
    """Inferred Value (dtype, shape) for every name in the graph and its subgraphs."""
    result: dict[str, Value] = {}
    _infer_graph(graph, None, result, itertools.count(), {})
    return result


def _infer_graph(
    graph: Graph,
    parent: _Scope | None,
    result: dict[str, Value],
    fresh: Iterator[int],
    bound_inputs: dict[str, Value],
) -> _Scope:
    scope = _Scope(graph, parent, fresh, result)
    for v in graph.inputs:
        bound = bound_inputs.get(v.name)
        if bound is not None and (v.dtype is None or v.shape is None):
            scope.values[v.name] = Value(v.name, v.dtype or bound.dtype, bound.shape, v.kind)
        else:
            scope.values[v.name] = Value(v.name, v.dtype, _clean_shape(v.shape), v.kind)
    for name, arr in graph.initializers.items():
        arr = np.asarray(arr)
        scope.values[name] = Value(name, _array_dtype(arr), tuple(int(d) for d in arr.shape))
        scope.consts[name] = arr
    try:
        order = graph.topological_nodes(frozenset(_outer_names(parent)))
    except (GraphValidationError, RecursionError):
        order = list(graph.nodes)
    for node in order:
        rule = _rule_for(node)
        if rule is not None:
            try:
                rule(scope, node)
                if node.op_type in _FOLDERS and node.domain in ("", "ai.onnx"):
                    _fold_node(scope, node)
            except Exception as err:  # a model we do not understand: leave its outputs unknown
                log.debug("shape inference gave up on %s: %s", node.label(), err)
        for out in node.outputs:
            if out and out not in scope.values:
                scope.values[out] = Value(out)
    for name, value in scope.values.items():
        if parent is None:
            result[name] = value
        else:
            result.setdefault(name, value)
    for v in graph.outputs:
        if v.name not in scope.values:
            result.setdefault(v.name, scope.value(v.name))
    return scope


def _outer_names(scope: _Scope | None) -> set[str]:
    names: set[str] = set()
    while scope is not None:
        names |= scope.graph.produced_names() | set(scope.values)
        scope = scope.parent
    return names


def _rule_for(node: Node) -> Rule | None:
    if node.domain in ("", "ai.onnx"):
        return _RULES.get(node.op_type)
    if node.domain == "com.microsoft":
        return _MS_RULES.get(node.op_type) or _RULES.get(node.op_type)
    return None


def _out(node: Node, i: int = 0) -> str:
    return node.outputs[i] if i < len(node.outputs) else ""


def _in(node: Node, i: int) -> str:
    return node.inputs[i] if i < len(node.inputs) else ""


# ---- constant folding of small tensors ------------------------------------------------------
def _slice_array(x: np.ndarray, starts: Any, ends: Any, axes: Any = None, steps: Any = None) -> Any:
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    index = [slice(None)] * x.ndim
    for a, b, e, st in zip(axes, starts, ends, steps):
        index[int(a)] = slice(int(b), int(e), int(st))
    return x[tuple(index)]


def _int_divide(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":
        return (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(x.dtype)
    return x / y


def _SHAPE_ONLY(*args: Any) -> None:
    """Marks ops whose folded value follows from the input and the inferred output shape."""


_FOLDERS: dict[str, Callable[..., Any]] = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _int_divide, "Mod": np.mod,
    "Neg": np.negative, "Abs": np.abs, "Max": np.maximum, "Min": np.minimum,
    "Equal": np.equal, "Less": np.less, "Greater": np.greater, "Not": np.logical_not,
    "And": np.logical_and, "Or": np.logical_or, "Where": np.where,
    "Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt,
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "Gather": lambda x, i, axis=0: np.take(x, i, axis=axis),
    "Transpose": lambda x, perm=None: np.transpose(x, perm),
    "Tile": lambda x, reps: np.tile(x, reps),
    "Slice": _slice_array,
    "Range": lambda start, limit, delta: np.arange(start, limit, delta, dtype=start.dtype),
    # shape-only ops: the inferred output shape says everything
    "Reshape": _SHAPE_ONLY, "Squeeze": _SHAPE_ONLY, "Unsqueeze": _SHAPE_ONLY,
    "Flatten": _SHAPE_ONLY, "Identity": _SHAPE_ONLY, "Cast": _SHAPE_ONLY, "CastLike": _SHAPE_ONLY,
    "Expand": _SHAPE_ONLY, "ConstantOfShape": _SHAPE_ONLY,
}  # fmt: skip
_FOLD_ATTRS = {"Concat": ("axis",), "Gather": ("axis",), "Transpose": ("perm",)}


def _fold_node(s: _Scope, n: Node) -> None:
    """Evaluates a node whose inputs are all small known tensors (shape arithmetic, pads...)."""
    out = s.values.get(_out(n))
    if out is None or out.shape is None or not all(_num(d) for d in out.shape) or not out.dtype:
        return
    if out.dtype == "string" or math.prod(out.shape) > _SYM_LIMIT or len(n.outputs) != 1:  # type: ignore
        return
    args: list[Any] = [s.array(i) if i else None for i in n.inputs]
    if any(a is None or a.size > _SYM_LIMIT for a, i in zip(args, n.inputs) if i):
        return
    if n.op_type == "Slice" and "starts" in n.attrs:
        return
    folder = _FOLDERS[n.op_type]
    shape = tuple(int(d) for d in out.shape)  # type: ignore[arg-type]
    value: np.ndarray | None
    if n.op_type == "ConstantOfShape":
        fill = np.asarray(n.attrs.get("value", np.zeros(1, np.float32))).reshape(-1)[:1]
        value = np.full(shape, fill[0] if fill.size else 0, dtype=fill.dtype)
    elif n.op_type == "Expand":
        value = np.broadcast_to(args[0], shape)
    elif folder is _SHAPE_ONLY:
        value = args[0].reshape(shape) if args[0].size == math.prod(shape) else None
    else:
        kwargs = {k: n.attrs[k] for k in _FOLD_ATTRS.get(n.op_type, ()) if k in n.attrs}
        given = [a for a in args if a is not None] if n.op_type != "Slice" else args
        value = np.asarray(folder(*given, **kwargs))
    if value is None or tuple(value.shape) != shape:
        return
    s.consts[_out(n)] = np.array(value, dtype=to_numpy(out.dtype))
    s.syms.pop(_out(n), None)


# ---- element-wise ----------------------------------------------------------------------------
_UNARY = (
    "Abs Acos Acosh Asin Asinh Atan Atanh Ceil Celu Clip Cos Cosh CumSum Elu Erf Exp Floor Gelu "
    "HardSigmoid HardSwish Hardmax Identity LeakyRelu Log LogSoftmax LpNormalization LRN "
    "MeanVarianceNormalization Mish Neg Reciprocal Relu ReverseSequence Round Selu Shrink Sigmoid "
    "Sign Sin Sinh Softmax Softplus Softsign Sqrt Tan Tanh ThresholdedRelu Trilu BitwiseNot Swish "
    "InstanceNormalization GroupNormalization Scatter ScatterElements ScatterND FastGelu BiasGelu "
    "QuickGelu QLinearSigmoid QLinearLeakyRelu QLinearSoftmax SkipLayerNormalization "
    "SimplifiedLayerNormalization SkipSimplifiedLayerNormalization"
).split()
_BINARY = (
    "Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor Max Min Sum Mean PRelu"
).split()
_COMPARE = "Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor".split()


@_rule(*_UNARY)
def _same_as_input(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), x.dtype, x.shape, x.kind)
    if n.op_type == "Identity":
        if (arr := s.const(_in(n, 0))) is not None:
            s.consts[_out(n)] = arr
        if (sym := s.sym(_in(n, 0))) is not None:
            s.set_sym(_out(n), x.dtype, sym.elems, sym.scalar)
    elif n.op_type in ("Neg", "Abs") and (sym := s.sym(_in(n, 0))) is not None:
        fn = (
            (lambda e: dim_mul(e, -1))
            if n.op_type == "Neg"
            else (lambda e: abs(e) if _num(e) else None)
        )
        s.set_sym(_out(n), x.dtype, [fn(e) for e in sym.elems], sym.scalar)
    for i in range(1, len(n.outputs)):  # training-mode outputs of normalisations
        s.set(_out(n, i), x.dtype, None)


@_rule("Dropout")
def _dropout(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), x.dtype, x.shape)
    s.set(_out(n, 1), "bool", x.shape)


@_rule("Not", "IsNaN", "IsInf")
def _bool_unary(s: _Scope, n: Node) -> None:
    s.set(_out(n), "bool", s.shape(_in(n, 0)))


def _elementwise_syms(s: _Scope, n: Node, fn: Callable[..., Elem], dtype: str | None) -> None:
    syms = [s.sym(i) for i in n.inputs if i]
    if not syms or any(sym is None for sym in syms):
        return
    lengths = {len(sym.elems) for sym in syms if sym is not None and len(sym.elems) != 1}
    if len(lengths) > 1:
        return
    size = lengths.pop() if lengths else 1
    rows = [sym.elems * size if len(sym.elems) == 1 else sym.elems for sym in syms if sym]
    out = [fn(*args) for args in zip(*rows)]
    s.set_sym(_out(n), dtype, out, all(sym.scalar for sym in syms if sym))


def _true_div(a: Elem, b: Elem) -> Elem:
    if _num(a) and _num(b):
        return a / b if b else None
    return _divide_product(a, b)


def _int_div(a: Elem, b: Elem) -> Elem:
    if _num(a) and _num(b):
        return int(a / b) if b else None  # ONNX integer Div truncates
    return dim_floordiv(a, b)


def _max(a: Elem, b: Elem) -> Elem:
    return max(a, b) if _num(a) and _num(b) else (a if a == b else None)


def _min(a: Elem, b: Elem) -> Elem:
    return min(a, b) if _num(a) and _num(b) else (a if a == b else None)


def _reduce(fn: Callable[[Elem, Elem], Elem]) -> Callable[..., Elem]:
    return lambda *xs: _chain(fn, xs)


def _chain(fn: Callable[[Elem, Elem], Elem], xs: tuple[Elem, ...]) -> Elem:
    out = xs[0]
    for x in xs[1:]:
        out = fn(out, x)
    return out


@_rule(*_BINARY)
def _binary(s: _Scope, n: Node) -> None:
    values = [s.value(i) for i in n.inputs if i]
    if not values:
        return
    dtype = values[0].dtype
    s.set(_out(n), dtype, broadcast_shapes(*(v.shape for v in values)))
    floats = dtype in FLOAT
    fns: dict[str, Callable[..., Elem]] = {
        "Add": dim_add, "Sub": dim_sub, "Mul": dim_mul,
        "Div": _true_div if floats else _int_div,
        "Max": _reduce(_max), "Min": _reduce(_min), "Sum": _reduce(dim_add),
    }  # fmt: skip
    if n.op_type in fns and dtype not in ("bool", "string"):
        _elementwise_syms(s, n, fns[n.op_type], dtype)


def _sym_compare(op: str) -> Callable[[Elem, Elem], Elem]:
    import operator

    table = {
        "Equal": operator.eq, "Less": operator.lt, "Greater": operator.gt,
        "LessOrEqual": operator.le, "GreaterOrEqual": operator.ge,
        "And": lambda a, b: bool(a) and bool(b), "Or": lambda a, b: bool(a) or bool(b),
        "Xor": lambda a, b: bool(a) != bool(b),
    }  # fmt: skip

    def compare(a: Elem, b: Elem) -> Elem:
        if _num(a) and _num(b):
            return bool(table[op](a, b))
        if op == "Equal" and a is not None and a == b:
            return True
        return None

    return compare


@_rule(*_COMPARE)
def _compare(s: _Scope, n: Node) -> None:
    shapes = [s.shape(i) for i in n.inputs if i]
    s.set(_out(n), "bool", broadcast_shapes(*shapes))
    _elementwise_syms(s, n, _sym_compare(n.op_type), "bool")


@_rule("Where")
def _where(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 1))
    dtype = x.dtype or s.dtype(_in(n, 2))
    s.set(_out(n), dtype, broadcast_shapes(*(s.shape(i) for i in n.inputs[:3])))
    pick = lambda c, a, b: None if c is None else (a if c else b)  # noqa: E731
    _elementwise_syms(s, n, pick, dtype)


@_rule("Cast", "CastLike")
def _cast(s: _Scope, n: Node) -> None:
    if n.op_type == "Cast":
        dtype = dtype_from_onnx(n.attrs.get("to"))
    else:
        dtype = s.dtype(_in(n, 1))
    x = s.value(_in(n, 0))
    s.set(_out(n), dtype, x.shape)
    sym = s.sym(_in(n, 0))
    if sym is None or dtype is None or dtype == "string":
        return
    elems: list[Elem]
    if dtype == "bool":
        elems = [bool(e) if _num(e) else None for e in sym.elems]
    elif dtype in FLOAT:
        elems = [float(e) if _num(e) else e for e in sym.elems]
    else:
        elems = [int(e) if _num(e) else e for e in sym.elems]
    s.set_sym(_out(n), dtype, elems, sym.scalar)


# ---- constants and shape values --------------------------------------------------------------
@_rule("Constant")
def _constant(s: _Scope, n: Node) -> None:
    a = n.attrs
    arr: np.ndarray | None = None
    if isinstance(a.get("value"), np.ndarray):
        arr = a["value"]
    elif isinstance(a.get("sparse_value"), np.ndarray):
        arr = a["sparse_value"]
    elif "value_float" in a:
        arr = np.array(a["value_float"], dtype=np.float32)
    elif "value_floats" in a:
        arr = np.array(a["value_floats"], dtype=np.float32)
    elif "value_int" in a:
        arr = np.array(a["value_int"], dtype=np.int64)
    elif "value_ints" in a:
        arr = np.array(a["value_ints"], dtype=np.int64)
    elif "value_string" in a:
        arr = np.array(a["value_string"], dtype=object)
    elif "value_strings" in a:
        arr = np.array(a["value_strings"], dtype=object)
    if arr is None:
        return
    s.set(_out(n), _array_dtype(arr), tuple(arr.shape))
    s.consts[_out(n)] = arr


@_rule("Shape")
def _shape_op(s: _Scope, n: Node) -> None:
    shape = s.shape(_in(n, 0))
    if shape is None:
        s.set(_out(n), "int64", (None,))
        return
    start, end = n.attrs.get("start", 0), n.attrs.get("end")
    dims = list(shape)[slice(start, end)]
    s.set_sym(_out(n), "int64", dims, False)


@_rule("Size")
def _size(s: _Scope, n: Node) -> None:
    shape = s.shape(_in(n, 0))
    s.set(_out(n), "int64", ())
    if shape is not None:
        s.set_sym(_out(n), "int64", [dims_product(shape)], True)


@_rule("ConstantOfShape")
def _constant_of_shape(s: _Scope, n: Node) -> None:
    value = n.attrs.get("value")
    fill = np.asarray(value) if value is not None else np.zeros(1, np.float32)
    dtype = _array_dtype(fill)
    sym = s.sym(_in(n, 0))
    if sym is not None:
        shape: Shape = tuple(sym.elems)
    else:
        length = (s.shape(_in(n, 0)) or (None,))[0]
        shape = (None,) * length if isinstance(length, int) else None
    s.set(_out(n), dtype, shape)


@_rule("Range")
def _range(s: _Scope, n: Node) -> None:
    dtype = s.dtype(_in(n, 0)) or s.dtype(_in(n, 1))
    start, limit, delta = (s.sym(_in(n, i)) for i in range(3))
    length: Dim = None
    if start and limit and delta:
        a, b, d = start.elems[0], limit.elems[0], delta.elems[0]
        if _num(a) and _num(b) and _num(d) and d != 0:
            length = max(int(math.ceil((b - a) / d)), 0)
            if length <= _SYM_LIMIT and dtype not in FLOAT:
                s.set_sym(_out(n), dtype, [int(a + i * d) for i in range(length)], False)
                return
        elif d == 1:
            length = dim_sub(b, a)
        elif _num(d) and a == 0 and d > 0:
            length = dim_ceildiv(b, d)
    s.set(_out(n), dtype, (length,))


# ---- shape manipulation ----------------------------------------------------------------------
@_rule("Reshape")
def _reshape(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    target = s.sym(_in(n, 1))
    if target is None:
        length = (s.shape(_in(n, 1)) or (None,))[0]
        s.set(_out(n), x.dtype, (None,) * length if isinstance(length, int) else None)
        return
    allowzero = n.attrs.get("allowzero", 0)
    dims: list[Dim] = []
    for i, d in enumerate(target.elems):
        if d == 0 and not allowzero:
            d = x.shape[i] if x.shape is not None and i < len(x.shape) else None
        dims.append(d)
    if -1 in dims:
        at = dims.index(-1)
        rest = [d for i, d in enumerate(dims) if i != at]
        total = dims_product(x.shape) if x.shape is not None else None
        dims[at] = _divide_product(total, dims_product(rest)) if total is not None else None
    s.set(_out(n), x.dtype, tuple(dims))
    sym = s.sym(_in(n, 0))
    if sym is not None and len(dims) <= 1:
        s.set_sym(_out(n), x.dtype, sym.elems, len(dims) == 0)


@_rule("Transpose")
def _transpose(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    perm = n.attrs.get("perm")
    if x.shape is None:
        s.set(_out(n), x.dtype, (None,) * len(perm) if perm else None)
        return
    perm = perm or list(range(len(x.shape)))[::-1]
    s.set(_out(n), x.dtype, tuple(x.shape[p] for p in perm))


@_rule("Concat")
def _concat(s: _Scope, n: Node) -> None:
    values = [s.value(i) for i in n.inputs if i]
    dtype = next((v.dtype for v in values if v.dtype), None)
    shapes = [v.shape for v in values]
    known = [sh for sh in shapes if sh is not None]
    if not known:
        s.set(_out(n), dtype, None)
        return
    rank = len(known[0])
    axis = _axis(n.attrs.get("axis", 0), rank)
    if axis is None or any(len(sh) != rank for sh in known):
        s.set(_out(n), dtype, None)
        return
    out: list[Dim] = []
    for i in range(rank):
        if i == axis:
            total: Dim = 0
            for sh in shapes:
                total = dim_add(total, sh[i] if sh is not None else None)
            out.append(total)
        else:
            d = known[0][i]
            for sh in known[1:]:
                d = _merge_dim(d, sh[i])
            out.append(d)
    s.set(_out(n), dtype, tuple(out))
    syms = [s.sym(i) for i in n.inputs if i]
    if rank == 1 and all(sym is not None for sym in syms):
        s.set_sym(_out(n), dtype, [e for sym in syms if sym for e in sym.elems], False)


@_rule("Split")
def _split(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    outs = [o for o in n.outputs]
    if x.shape is None:
        for o in outs:
            s.set(o, x.dtype, None)
        return
    axis = _axis(n.attrs.get("axis", 0), len(x.shape))
    sizes: list[Any] | None = n.attrs.get("split") or (s.ints(_in(n, 1)) if _in(n, 1) else None)
    dim: Any = x.shape[axis] if axis is not None else None
    if sizes is None and "num_outputs" in n.attrs and _num(dim):
        chunk = -(-int(dim) // int(n.attrs["num_outputs"]))
        sizes = [chunk] * (len(outs) - 1) + [int(dim) - chunk * (len(outs) - 1)]
    elif sizes is None:
        exact = _divide_product(dim, len(outs))
        sizes = [exact if exact is not None else dim_floordiv(dim, len(outs))] * len(outs)
    for i, o in enumerate(outs):
        shape = list(x.shape)
        if axis is not None:
            shape[axis] = sizes[i] if i < len(sizes) else None
        s.set(o, x.dtype, tuple(shape))


def _slice_len(dim: Elem, start: Elem, end: Elem, step: Elem) -> Dim:
    """Length of dim[start:end:step] with ONNX clamping; a symbolic bound is taken as in range."""
    if not _num(step) or step == 0:
        return None
    if _num(dim) and _num(start) and _num(end):
        return len(range(*slice(int(start), int(end), int(step)).indices(int(dim))))
    if step < 0 or start is None or end is None:
        return None
    if _num(end) and end >= _END:
        end = dim
    elif _num(end) and end < 0:
        end = dim_add(dim, end)
    if _num(start) and start < 0:
        start = dim_add(dim, start)
    if _num(start) and _num(end) and not _num(dim):
        return max(int(end) - int(start), 0) if end >= 0 and start >= 0 and step == 1 else None
    return dim_ceildiv(dim_sub(end, start), step)


@_rule("Slice")
def _slice(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    if "starts" in n.attrs:  # opset < 10
        starts, ends = n.attrs.get("starts"), n.attrs.get("ends")
        axes, steps = n.attrs.get("axes"), None
    else:
        first, last = s.sym(_in(n, 1)), s.sym(_in(n, 2))
        starts = first.elems if first is not None else None
        ends = last.elems if last is not None else None
        axes = s.ints(_in(n, 3)) if _in(n, 3) else None
        steps = s.ints(_in(n, 4)) if _in(n, 4) else None
        if (_in(n, 3) and axes is None) or (_in(n, 4) and steps is None):
            starts = None
    if x.shape is None:
        s.set(_out(n), x.dtype, None)
        return
    if starts is None or ends is None:
        s.set(_out(n), x.dtype, (None,) * len(x.shape))
        return
    axes = axes or list(range(len(starts)))
    steps = steps or [1] * len(starts)
    shape = list(x.shape)
    for a, b, e, st in zip(axes, starts, ends, steps):
        ax = _axis(a, len(shape))
        if ax is not None:
            shape[ax] = _slice_len(shape[ax], b, e, st)
    s.set(_out(n), x.dtype, tuple(shape))
    sym = s.sym(_in(n, 0))
    bounds = (starts[:1], ends[:1], steps[:1])
    if sym is None or sym.scalar or len(axes) != 1 or _axis(axes[0], 1) != 0:
        return
    if all(len(b) == 1 and _num(b[0]) for b in bounds):
        picked = sym.elems[slice(int(starts[0]), int(ends[0]), int(steps[0]))]
        s.set_sym(_out(n), x.dtype, picked, False)


@_rule("Gather")
def _gather(s: _Scope, n: Node) -> None:
    x, idx = s.value(_in(n, 0)), s.value(_in(n, 1))
    if x.shape is None or idx.shape is None:
        s.set(_out(n), x.dtype, None)
        return
    axis = _axis(n.attrs.get("axis", 0), len(x.shape))
    if axis is None:
        s.set(_out(n), x.dtype, None)
        return
    s.set(_out(n), x.dtype, x.shape[:axis] + idx.shape + x.shape[axis + 1 :])
    sym, picks = s.sym(_in(n, 0)), s.ints(_in(n, 1))
    if sym is not None and not sym.scalar and picks is not None and len(idx.shape) <= 1:
        size = len(sym.elems)
        if all(-size <= p < size for p in picks):
            s.set_sym(_out(n), x.dtype, [sym.elems[p] for p in picks], len(idx.shape) == 0)


@_rule("GatherElements")
def _gather_elements(s: _Scope, n: Node) -> None:
    s.set(_out(n), s.dtype(_in(n, 0)), s.shape(_in(n, 1)))


@_rule("GatherND")
def _gather_nd(s: _Scope, n: Node) -> None:
    x, idx = s.value(_in(n, 0)), s.value(_in(n, 1))
    b = n.attrs.get("batch_dims", 0)
    if x.shape is None or idx.shape is None or not idx.shape or not _num(idx.shape[-1]):
        s.set(_out(n), x.dtype, None)
        return
    s.set(_out(n), x.dtype, idx.shape[:-1] + x.shape[b + int(idx.shape[-1]) :])  # type: ignore


def _axes_of(s: _Scope, n: Node, input_index: int) -> tuple[list[int] | None, bool]:
    """(axes, given): the axes attribute or constant input; given=False when absent."""
    if "axes" in n.attrs:
        return list(n.attrs["axes"]), True
    name = _in(n, input_index)
    if not name:
        return None, False
    return s.ints(name), True


@_rule("Squeeze")
def _squeeze(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    axes, given = _axes_of(s, n, 1)
    sym = s.sym(_in(n, 0))
    if x.shape is None or (given and axes is None):
        s.set(_out(n), x.dtype, None)
        return
    if given and axes:
        drop = {_axis(a, len(x.shape)) for a in axes}
    elif all(_num(d) for d in x.shape):
        drop = {i for i, d in enumerate(x.shape) if d == 1}
    else:
        s.set(_out(n), x.dtype, None)
        return
    s.set(_out(n), x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in drop))
    if sym is not None and len(sym.elems) == 1 and drop == {0}:
        s.set_sym(_out(n), x.dtype, sym.elems, True)


@_rule("Unsqueeze")
def _unsqueeze(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    axes, _ = _axes_of(s, n, 1)
    if x.shape is None or axes is None:
        s.set(_out(n), x.dtype, None)
        return
    rank = len(x.shape) + len(axes)
    where = {_axis(a, rank) for a in axes}
    rest = iter(x.shape)
    s.set(_out(n), x.dtype, tuple(1 if i in where else next(rest) for i in range(rank)))
    sym = s.sym(_in(n, 0))
    if sym is not None and sym.scalar and rank == 1:
        s.set_sym(_out(n), x.dtype, sym.elems, False)


@_rule("Flatten")
def _flatten(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    if x.shape is None:
        s.set(_out(n), x.dtype, (None, None))
        return
    axis = n.attrs.get("axis", 1)
    axis = axis + len(x.shape) if axis < 0 else axis
    s.set(_out(n), x.dtype, (dims_product(x.shape[:axis]), dims_product(x.shape[axis:])))


@_rule("Expand")
def _expand(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    sym = s.sym(_in(n, 1))
    if sym is not None:
        target: Shape = tuple(sym.elems)
    else:
        length = (s.shape(_in(n, 1)) or (None,))[0]
        target = (None,) * length if isinstance(length, int) else None
    s.set(_out(n), x.dtype, broadcast_shapes(x.shape, target))


@_rule("Tile")
def _tile(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    reps = s.sym(_in(n, 1))
    if x.shape is None:
        s.set(_out(n), x.dtype, None)
    elif reps is None or len(reps.elems) != len(x.shape):
        s.set(_out(n), x.dtype, (None,) * len(x.shape))
    else:
        s.set(_out(n), x.dtype, tuple(dim_mul(d, r) for d, r in zip(x.shape, reps.elems)))


@_rule("Pad")
def _pad(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    pads = n.attrs.get("pads") if "pads" in n.attrs else s.ints(_in(n, 1))
    if x.shape is None:
        s.set(_out(n), x.dtype, None)
        return
    rank = len(x.shape)
    axes = s.ints(_in(n, 3)) if _in(n, 3) else list(range(rank))
    if pads is None or axes is None or len(pads) != 2 * len(axes):
        s.set(_out(n), x.dtype, (None,) * rank)
        return
    shape = list(x.shape)
    for i, a in enumerate(axes):
        ax = _axis(a, rank)
        if ax is not None:
            shape[ax] = dim_add(shape[ax], pads[i] + pads[i + len(axes)])
    s.set(_out(n), x.dtype, tuple(shape))


@_rule("CenterCropPad")
def _center_crop_pad(s: _Scope, n: Node) -> None:
    x, sizes = s.value(_in(n, 0)), s.sym(_in(n, 1))
    if x.shape is None or sizes is None:
        s.set(_out(n), x.dtype, None if x.shape is None else (None,) * len(x.shape))
        return
    axes = n.attrs.get("axes") or list(range(len(x.shape)))
    shape = list(x.shape)
    for a, size in zip(axes, sizes.elems):
        if (ax := _axis(a, len(shape))) is not None:
            shape[ax] = size
    s.set(_out(n), x.dtype, tuple(shape))


@_rule("Resize", "Upsample")
def _resize(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    if x.shape is None:
        s.set(_out(n), x.dtype, None)
        return
    rank = len(x.shape)
    if n.op_type == "Upsample" or s.opset < 11:
        scales = n.attrs.get("scales") or s.numbers(_in(n, 1))
        sizes_sym = None
    else:
        scales = s.numbers(_in(n, 2)) if _in(n, 2) else None
        sizes_sym = s.sym(_in(n, 3)) if _in(n, 3) else None
        scales = scales or None  # an empty scales tensor means "use sizes"
    axes = n.attrs.get("axes") or list(range(rank))
    shape: list[Dim] = list(x.shape)
    policy = n.attrs.get("keep_aspect_ratio_policy", "stretch")
    if sizes_sym is not None and len(sizes_sym.elems) == len(axes) and policy == "stretch":
        for a, size in zip(axes, sizes_sym.elems):
            shape[_axis(a, rank) or 0] = size
    elif scales is not None and len(scales) == len(axes):
        for a, sc in zip(axes, scales):
            ax = _axis(a, rank) or 0
            d = shape[ax]
            if _num(d):
                shape[ax] = int(math.floor(d * sc + 1e-6))  # type: ignore[operator]
            else:
                shape[ax] = dim_mul(d, int(sc)) if float(sc).is_integer() else None
    else:
        shape = [None] * rank
    s.set(_out(n), x.dtype, tuple(shape))


@_rule("DepthToSpace", "SpaceToDepth")
def _depth_space(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    b = n.attrs.get("blocksize")
    if x.shape is None or len(x.shape) != 4 or not b:
        s.set(_out(n), x.dtype, None if x.shape is None else (None,) * len(x.shape))
        return
    nb, c, h, w = x.shape
    if n.op_type == "DepthToSpace":
        shape = (nb, dim_floordiv(c, b * b), dim_mul(h, b), dim_mul(w, b))
    else:
        shape = (nb, dim_mul(c, b * b), dim_floordiv(h, b), dim_floordiv(w, b))
    s.set(_out(n), x.dtype, shape)


# ---- reductions ------------------------------------------------------------------------------
_REDUCE = (
    "ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum "
    "ReduceLogSumExp ReduceSumSquare"
).split()


@_rule(*_REDUCE, "ArgMax", "ArgMin")
def _reduction(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    keep = n.attrs.get("keepdims", 1)
    dtype = "int64" if n.op_type in ("ArgMax", "ArgMin") else x.dtype
    if n.op_type in ("ArgMax", "ArgMin"):
        axes: list[int] | None = [n.attrs.get("axis", 0)]
    else:
        axes, given = _axes_of(s, n, 1)
        if given and axes is None:  # axes computed at run time
            rank = _rank(x.shape)
            s.set(_out(n), dtype, (None,) * rank if keep and rank is not None else None)
            return
        if not axes and n.attrs.get("noop_with_empty_axes", 0):
            s.set(_out(n), dtype, x.shape)
            return
    if x.shape is None:
        s.set(_out(n), dtype, None)
        return
    rank = len(x.shape)
    gone = {_axis(a, rank) for a in axes} if axes else set(range(rank))
    shape = [1 if i in gone else d for i, d in enumerate(x.shape) if keep or i not in gone]
    s.set(_out(n), dtype, tuple(shape))
    sym = s.sym(_in(n, 0))
    if sym is not None and not sym.scalar and n.op_type in ("ReduceProd", "ReduceSum"):
        fn = dim_mul if n.op_type == "ReduceProd" else dim_add
        value = _chain(fn, tuple(sym.elems)) if sym.elems else int(n.op_type == "ReduceProd")
        s.set_sym(_out(n), dtype, [value], not keep)


@_rule("TopK")
def _topk(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    k_values = s.sym(_in(n, 1)) if _in(n, 1) else None
    k: Dim = n.attrs.get("k") if "k" in n.attrs else (k_values.elems[0] if k_values else None)
    shape: Shape = None
    if x.shape is not None:
        axis = _axis(n.attrs.get("axis", -1), len(x.shape))
        shape = tuple(k if i == axis else d for i, d in enumerate(x.shape))
    s.set(_out(n), x.dtype, shape)
    s.set(_out(n, 1), "int64", shape)


# ---- linear algebra --------------------------------------------------------------------------
def matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy matmul: 1-D operands promoted and the added dim dropped; batch dims broadcast."""
    if a is None or b is None or not a or not b:
        return None
    aa = (1,) + a if len(a) == 1 else a
    bb = b + (1,) if len(b) == 1 else b
    batch = broadcast_shapes(aa[:-2], bb[:-2]) or ()
    out = batch + (aa[-2], bb[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


@_rule("MatMul", "MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat", "DynamicQuantizeMatMul")
def _matmul(s: _Scope, n: Node) -> None:
    b_at = 3 if n.op_type == "QLinearMatMul" else 1
    shape = matmul_shape(s.shape(_in(n, 0)), s.shape(_in(n, b_at)))
    dtype: str | None
    if n.op_type == "MatMulInteger":
        dtype = "int32"
    elif n.op_type == "QLinearMatMul":
        dtype = s.dtype(_in(n, 7)) or s.dtype(_in(n, 0))
    elif n.op_type in ("MatMulIntegerToFloat", "DynamicQuantizeMatMul"):
        dtype = s.dtype(_in(n, 2)) or "float32"
    else:
        dtype = s.dtype(_in(n, 0))
    s.set(_out(n), dtype, shape)


@_rule("Gemm")
def _gemm(s: _Scope, n: Node) -> None:
    a, b = s.value(_in(n, 0)), s.shape(_in(n, 1))
    m = k = None
    if a.shape is not None and len(a.shape) == 2:
        m = a.shape[1] if n.attrs.get("transA", 0) else a.shape[0]
    if b is not None and len(b) == 2:
        k = b[0] if n.attrs.get("transB", 0) else b[1]
    s.set(_out(n), a.dtype, (m, k))


@_rule("Einsum")
def _einsum(s: _Scope, n: Node) -> None:
    shapes = [s.shape(i) for i in n.inputs if i]
    dtype = s.dtype(_in(n, 0))
    s.set(_out(n), dtype, _einsum_shape(str(n.attrs.get("equation", "")), shapes))


def _einsum_shape(equation: str, shapes: list[Shape]) -> Shape:
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        return None
    sizes: dict[str, Dim] = {}
    dots_shapes: list[Shape] = []
    for term, shape in zip(terms, shapes):
        letters = term.replace("...", "")
        if shape is None or len(shape) < len(letters):
            return None
        if "..." in term:
            at, extra = term.index("..."), len(shape) - len(letters)
            dots_shapes.append(shape[at : at + extra])
            shape = shape[:at] + shape[at + extra :]
        elif len(letters) != len(shape):
            return None
        for letter, d in zip(letters, shape):
            sizes[letter] = broadcast_dim(sizes[letter], d) if letter in sizes else d
    if not arrow:
        counts = Counter(lhs.replace("...", "").replace(",", ""))
        rhs = ("..." if dots_shapes else "") + "".join(
            sorted(c for c, k in counts.items() if k == 1)
        )
    before, dots_at, after = rhs.partition("...")
    dots = broadcast_shapes(*dots_shapes) if dots_shapes else ()
    if dots_at and dots is None:
        return None
    middle = tuple(dots or ()) if dots_at else ()
    return tuple(sizes.get(c) for c in before) + middle + tuple(sizes.get(c) for c in after)


@_rule("Det")
def _det(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), x.dtype, None if x.shape is None else x.shape[:-2])


# ---- convolution and pooling -----------------------------------------------------------------
def _window_dims(n: Node, spatial: tuple[Dim, ...], kernel: list[Dim]) -> list[Dim]:
    ns = len(spatial)
    strides = n.attrs.get("strides") or [1] * ns
    dilations = n.attrs.get("dilations") or [1] * ns
    pads = n.attrs.get("pads") or [0] * (2 * ns)
    auto = n.attrs.get("auto_pad", "NOTSET")
    ceil = n.attrs.get("ceil_mode", 0)
    out: list[Dim] = []
    for i, d in enumerate(spatial):
        st = strides[i]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out.append(dim_ceildiv(d, st))
            continue
        k = kernel[i] if i < len(kernel) else None
        if not _num(k):
            out.append(None)
            continue
        begin, end = (0, 0) if auto == "VALID" else (pads[i], pads[i + ns])
        span = (int(k) - 1) * dilations[i] + 1  # type: ignore[arg-type]
        room = dim_add(d, begin + end - span)
        o = dim_add((dim_ceildiv if ceil else dim_floordiv)(room, st), 1)
        if ceil and _num(o) and _num(d) and (o - 1) * st >= d + begin:  # type: ignore[operator]
            o -= 1  # type: ignore[operator]  # the last window may not start in the padding
        out.append(o)
    return out


def _conv_like(s: _Scope, n: Node, x_at: int, w_at: int, dtype: str | None) -> None:
    x, w = s.shape(_in(n, x_at)), s.shape(_in(n, w_at))
    rank = _rank(x) if x is not None else _rank(w)
    if rank is None or rank < 3:
        s.set(_out(n), dtype, None)
        return
    x = x if x is not None else (None,) * rank
    kernel = n.attrs.get("kernel_shape") or (list(w[2:]) if w is not None else [None] * (rank - 2))
    cout = w[0] if w is not None else None
    s.set(_out(n), dtype, (x[0], cout, *_window_dims(n, x[2:], kernel)))


@_rule("Conv", "FusedConv", "NhwcFusedConv")
def _conv(s: _Scope, n: Node) -> None:
    _conv_like(s, n, 0, 1, s.dtype(_in(n, 0)))


@_rule("ConvInteger")
def _conv_integer(s: _Scope, n: Node) -> None:
    _conv_like(s, n, 0, 1, "int32")


@_rule("QLinearConv")
def _qlinear_conv(s: _Scope, n: Node) -> None:
    _conv_like(s, n, 0, 3, s.dtype(_in(n, 7)) or s.dtype(_in(n, 0)))


@_rule("ConvTranspose")
def _conv_transpose(s: _Scope, n: Node) -> None:
    x, w = s.value(_in(n, 0)), s.shape(_in(n, 1))
    rank = _rank(x.shape) if x.shape is not None else _rank(w)
    if rank is None or rank < 3:
        s.set(_out(n), x.dtype, None)
        return
    xs = x.shape if x.shape is not None else (None,) * rank
    ns = rank - 2
    group = n.attrs.get("group", 1)
    cout = dim_mul(w[1], group) if w is not None else None
    kernel = n.attrs.get("kernel_shape") or (list(w[2:]) if w is not None else [None] * ns)
    strides = n.attrs.get("strides") or [1] * ns
    dil = n.attrs.get("dilations") or [1] * ns
    out_pad = n.attrs.get("output_padding") or [0] * ns
    pads = n.attrs.get("pads") or [0] * (2 * ns)
    auto = n.attrs.get("auto_pad", "NOTSET")
    if n.attrs.get("output_shape"):
        spatial: list[Dim] = list(n.attrs["output_shape"])[-ns:]
    else:
        spatial = []
        for i in range(ns):
            d, k = xs[2 + i], kernel[i]
            if auto in ("SAME_UPPER", "SAME_LOWER"):
                spatial.append(dim_mul(d, strides[i]))
            elif not _num(k):
                spatial.append(None)
            else:
                span = (int(k) - 1) * dil[i] + 1
                cut = 0 if auto == "VALID" else pads[i] + pads[i + ns]
                grown = dim_mul(dim_sub(d, 1), strides[i])
                spatial.append(dim_add(grown, out_pad[i] + span - cut))
    s.set(_out(n), x.dtype, (xs[0], cout, *spatial))


@_rule("MaxPool", "AveragePool", "LpPool", "QLinearAveragePool")
def _pool(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    kernel = n.attrs.get("kernel_shape") or []
    if x.shape is None or len(x.shape) < 3:
        s.set(_out(n), x.dtype, None)
        s.set(_out(n, 1), "int64", None)
        return
    if n.attrs.get("channels_last"):
        spatial = _window_dims(n, x.shape[1:-1], kernel)
        shape: Shape = (x.shape[0], *spatial, x.shape[-1])
    else:
        shape = (x.shape[0], x.shape[1], *_window_dims(n, x.shape[2:], kernel))
    s.set(_out(n), x.dtype, shape)
    s.set(_out(n, 1), "int64", shape)


@_rule("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "QLinearGlobalAveragePool")
def _global_pool(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    if x.shape is None or len(x.shape) < 2:
        s.set(_out(n), x.dtype, None)
    elif n.attrs.get("channels_last"):
        s.set(_out(n), x.dtype, (x.shape[0],) + (1,) * (len(x.shape) - 2) + (x.shape[-1],))
    else:
        s.set(_out(n), x.dtype, x.shape[:2] + (1,) * (len(x.shape) - 2))


@_rule("MaxRoiPool", "RoiAlign")
def _roi(s: _Scope, n: Node) -> None:
    x, rois = s.shape(_in(n, 0)), s.shape(_in(n, 1))
    if n.op_type == "MaxRoiPool":
        size = list(n.attrs.get("pooled_shape") or [None, None])
    else:
        size = [n.attrs.get("output_height", 1), n.attrs.get("output_width", 1)]
    num = rois[0] if rois else None
    s.set(_out(n), s.dtype(_in(n, 0)), (num, x[1] if x and len(x) > 1 else None, *size))


@_rule("GridSample")
def _grid_sample(s: _Scope, n: Node) -> None:
    x, grid = s.shape(_in(n, 0)), s.shape(_in(n, 1))
    if x is None or grid is None:
        s.set(_out(n), s.dtype(_in(n, 0)), None)
        return
    s.set(_out(n), s.dtype(_in(n, 0)), (x[0], x[1], *grid[1:-1]))


# ---- normalisation ---------------------------------------------------------------------------
@_rule("BatchNormalization")
def _batch_norm(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), x.dtype, x.shape)
    for i in range(1, len(n.outputs)):
        stat = s.value(_in(n, 3 if i % 2 else 4))
        s.set(_out(n, i), stat.dtype or x.dtype, stat.shape)


@_rule("LayerNormalization")
def _layer_norm(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), x.dtype, x.shape)
    stash = dtype_from_onnx(n.attrs.get("stash_type", 1))
    stat: Shape = None
    if x.shape is not None:
        axis = _axis(n.attrs.get("axis", -1), len(x.shape))
        stat = tuple(1 if axis is not None and i >= axis else d for i, d in enumerate(x.shape))
    for i in (1, 2):
        s.set(_out(n, i), stash, stat)


# ---- recurrent -------------------------------------------------------------------------------
@_rule("LSTM", "GRU", "RNN")
def _recurrent(s: _Scope, n: Node) -> None:
    x, w = s.value(_in(n, 0)), s.shape(_in(n, 1))
    hidden = n.attrs.get("hidden_size")
    directions = 2 if n.attrs.get("direction", "forward") == "bidirectional" else 1
    if hidden is None and w is not None and len(w) == 3:
        hidden = dim_floordiv(w[1], {"LSTM": 4, "GRU": 3}.get(n.op_type, 1))
    seq = batch = None
    layout = n.attrs.get("layout", 0)
    if x.shape is not None and len(x.shape) == 3:
        seq, batch = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
    if layout:
        s.set(_out(n), x.dtype, (batch, seq, directions, hidden))
        state: Shape = (batch, directions, hidden)
    else:
        s.set(_out(n), x.dtype, (seq, directions, batch, hidden))
        state = (directions, batch, hidden)
    for i in range(1, len(n.outputs)):
        s.set(_out(n, i), x.dtype, state)


# ---- quantisation ----------------------------------------------------------------------------
@_rule("QuantizeLinear")
def _quantize(s: _Scope, n: Node) -> None:
    dtype = s.dtype(_in(n, 2)) if _in(n, 2) else None
    dtype = dtype or dtype_from_onnx(n.attrs.get("output_dtype", 0)) or "uint8"
    s.set(_out(n), dtype, s.shape(_in(n, 0)))


@_rule("DequantizeLinear")
def _dequantize(s: _Scope, n: Node) -> None:
    dtype = dtype_from_onnx(n.attrs.get("output_dtype", 0)) or s.dtype(_in(n, 1)) or "float32"
    s.set(_out(n), dtype, s.shape(_in(n, 0)))


@_rule("DynamicQuantizeLinear")
def _dynamic_quantize(s: _Scope, n: Node) -> None:
    s.set(_out(n), "uint8", s.shape(_in(n, 0)))
    s.set(_out(n, 1), "float32", ())
    s.set(_out(n, 2), "uint8", ())


@_rule("QLinearAdd", "QLinearMul", table=_MS_RULES)
def _qlinear_binary(s: _Scope, n: Node) -> None:
    shape = broadcast_shapes(s.shape(_in(n, 0)), s.shape(_in(n, 3)))
    s.set(_out(n), s.dtype(_in(n, 0)), shape)


@_rule("QLinearConcat", table=_MS_RULES)
def _qlinear_concat(s: _Scope, n: Node) -> None:
    inner = Node("Concat", n.inputs[2::3], n.outputs, {"axis": n.attrs.get("axis", 0)})
    _concat(s, inner)


# ---- data-dependent and generators -----------------------------------------------------------
@_rule("NonZero")
def _nonzero(s: _Scope, n: Node) -> None:
    s.set(_out(n), "int64", (_rank(s.shape(_in(n, 0))), s.new_symbol()))


@_rule("NonMaxSuppression")
def _nms(s: _Scope, n: Node) -> None:
    s.set(_out(n), "int64", (s.new_symbol(), 3))


@_rule("Compress")
def _compress(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    axis = n.attrs.get("axis")
    if axis is None:
        s.set(_out(n), x.dtype, (s.new_symbol(),))
    elif x.shape is None:
        s.set(_out(n), x.dtype, None)
    else:
        ax = _axis(axis, len(x.shape))
        s.set(
            _out(n), x.dtype, tuple(s.new_symbol() if i == ax else d for i, d in enumerate(x.shape))
        )


@_rule("Unique")
def _unique(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    count = s.new_symbol()
    axis = n.attrs.get("axis")
    if axis is None:
        s.set(_out(n), x.dtype, (count,))
        inverse: Shape = (dims_product(x.shape) if x.shape is not None else None,)
    elif x.shape is None or (ax := _axis(axis, len(x.shape))) is None:
        s.set(_out(n), x.dtype, None)
        inverse = (None,)
    else:
        s.set(_out(n), x.dtype, tuple(count if i == ax else d for i, d in enumerate(x.shape)))
        inverse = (x.shape[ax],)
    s.set(_out(n, 1), "int64", (count,))
    s.set(_out(n, 2), "int64", inverse)
    s.set(_out(n, 3), "int64", (count,))


@_rule("OneHot")
def _one_hot(s: _Scope, n: Node) -> None:
    idx = s.shape(_in(n, 0))
    depth = s.numbers(_in(n, 1))
    dtype = s.dtype(_in(n, 2))
    if idx is None:
        s.set(_out(n), dtype, None)
        return
    rank = len(idx) + 1
    axis = _axis(n.attrs.get("axis", -1), rank)
    d: Dim = int(depth[0]) if depth else None
    shape = list(idx)
    shape.insert(axis if axis is not None else rank - 1, d)
    s.set(_out(n), dtype, tuple(shape))


@_rule("EyeLike", "RandomNormalLike", "RandomUniformLike", "Bernoulli")
def _like(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), dtype_from_onnx(n.attrs["dtype"]) if "dtype" in n.attrs else x.dtype, x.shape)


@_rule("RandomNormal", "RandomUniform")
def _random(s: _Scope, n: Node) -> None:
    shape = n.attrs.get("shape")
    s.set(_out(n), dtype_from_onnx(n.attrs.get("dtype", 1)), tuple(shape) if shape else None)


@_rule("Multinomial")
def _multinomial(s: _Scope, n: Node) -> None:
    x = s.shape(_in(n, 0))
    batch = x[0] if x else None
    dtype = dtype_from_onnx(n.attrs.get("dtype", 6))
    s.set(_out(n), dtype, (batch, n.attrs.get("sample_size", 1)))


@_rule("MaxUnpool")
def _max_unpool(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    target = s.sym(_in(n, 2)) if _in(n, 2) else None
    if target is not None:
        s.set(_out(n), x.dtype, tuple(target.elems))
        return
    if x.shape is None:
        s.set(_out(n), x.dtype, None)
        return
    ns = len(x.shape) - 2
    kernel = n.attrs.get("kernel_shape") or [None] * ns
    strides = n.attrs.get("strides") or [1] * ns
    pads = n.attrs.get("pads") or [0] * (2 * ns)
    spatial = [
        dim_add(dim_mul(dim_sub(d, 1), strides[i]), (kernel[i] or 0) - pads[i] - pads[i + ns])
        if kernel[i]
        else None
        for i, d in enumerate(x.shape[2:])
    ]
    s.set(_out(n), x.dtype, (*x.shape[:2], *spatial))


# ---- control flow ----------------------------------------------------------------------------
def _body_outputs(s: _Scope, body: Any, bound: list[Value]) -> list[Value] | None:
    """Infers a subgraph whose inputs take the given Values; returns its output Values."""
    if not isinstance(body, Graph):
        return None
    binding = {v.name: Value(v.name, b.dtype, b.shape, b.kind) for v, b in zip(body.inputs, bound)}
    inner = _infer_graph(body, s, s.result, s.fresh, binding)
    return [inner.value(v.name) for v in body.outputs]


@_rule("If")
def _if(s: _Scope, n: Node) -> None:
    then = _body_outputs(s, n.attrs.get("then_branch"), [])
    other = _body_outputs(s, n.attrs.get("else_branch"), [])
    for i, name in enumerate(n.outputs):
        a = then[i] if then and i < len(then) else Value(name)
        b = other[i] if other and i < len(other) else Value(name)
        dtype = a.dtype if a.dtype == b.dtype else (a.dtype or b.dtype)
        s.set(name, dtype, _join(a.shape, b.shape), a.kind)


@_rule("Loop")
def _loop(s: _Scope, n: Node) -> None:
    carried = [s.value(i) for i in n.inputs[2:]]
    bound = [Value("", "int64", ()), Value("", "bool", ())] + [
        Value("", v.dtype, v.shape, v.kind) for v in carried
    ]
    outs = _body_outputs(s, n.attrs.get("body"), bound) or []
    trips = s.ints(_in(n, 0)) if _in(n, 0) else None
    for i, name in enumerate(n.outputs):
        body_out = outs[i + 1] if i + 1 < len(outs) else Value(name)  # outs[0] is the condition
        if i < len(carried):
            shape = _join(carried[i].shape, body_out.shape)
            s.set(name, carried[i].dtype or body_out.dtype, shape, carried[i].kind)
        else:
            count: Dim = trips[0] if trips and not _in(n, 1) else None
            s.set(
                name, body_out.dtype, None if body_out.shape is None else (count, *body_out.shape)
            )


@_rule("Scan")
def _scan(s: _Scope, n: Node) -> None:
    if s.opset < 9:
        return
    num_scan = n.attrs.get("num_scan_inputs", 0)
    states = [s.value(i) for i in n.inputs[: len(n.inputs) - num_scan]]
    scans = [s.value(i) for i in n.inputs[len(n.inputs) - num_scan :]]
    in_axes = n.attrs.get("scan_input_axes") or [0] * num_scan
    steps: Dim = None
    bound = [Value("", v.dtype, v.shape, v.kind) for v in states]
    for v, ax in zip(scans, in_axes):
        if v.shape is None:
            bound.append(Value("", v.dtype, None))
            continue
        a = _axis(ax, len(v.shape)) or 0
        steps = steps if steps is not None else v.shape[a]
        bound.append(Value("", v.dtype, v.shape[:a] + v.shape[a + 1 :]))
    outs = _body_outputs(s, n.attrs.get("body"), bound) or []
    out_axes = n.attrs.get("scan_output_axes") or [0] * (len(n.outputs) - len(states))
    for i, name in enumerate(n.outputs):
        body_out = outs[i] if i < len(outs) else Value(name)
        if i < len(states):
            s.set(name, states[i].dtype or body_out.dtype, _join(states[i].shape, body_out.shape))
        elif body_out.shape is None:
            s.set(name, body_out.dtype, None)
        else:
            j = i - len(states)
            ax = _axis(out_axes[j] if j < len(out_axes) else 0, len(body_out.shape) + 1) or 0
            shape = list(body_out.shape)
            shape.insert(ax, steps)
            s.set(name, body_out.dtype, tuple(shape))


# ---- sequences and optionals -----------------------------------------------------------------
@_rule("SequenceConstruct")
def _sequence_construct(s: _Scope, n: Node) -> None:
    values = [s.value(i) for i in n.inputs if i]
    shape = values[0].shape if values else None
    for v in values[1:]:
        shape = _join(shape, v.shape)
    s.set(_out(n), values[0].dtype if values else None, shape, "sequence")


@_rule("SequenceEmpty")
def _sequence_empty(s: _Scope, n: Node) -> None:
    s.set(_out(n), dtype_from_onnx(n.attrs.get("dtype", 1)), None, "sequence")


@_rule("SequenceAt")
def _sequence_at(s: _Scope, n: Node) -> None:
    seq = s.value(_in(n, 0))
    s.set(_out(n), seq.dtype, seq.shape)


@_rule("SequenceInsert", "SequenceErase")
def _sequence_update(s: _Scope, n: Node) -> None:
    seq = s.value(_in(n, 0))
    shape = seq.shape
    if n.op_type == "SequenceInsert":
        shape = _join(shape, s.shape(_in(n, 1)))
    s.set(_out(n), seq.dtype, shape, "sequence")


@_rule("SequenceLength")
def _sequence_length(s: _Scope, n: Node) -> None:
    s.set(_out(n), "int64", ())


@_rule("SplitToSequence")
def _split_to_sequence(s: _Scope, n: Node) -> None:
    s.set(_out(n), s.dtype(_in(n, 0)), None, "sequence")


@_rule("ConcatFromSequence")
def _concat_from_sequence(s: _Scope, n: Node) -> None:
    seq = s.value(_in(n, 0))
    shape: Shape = None
    if seq.shape is not None:
        rank = len(seq.shape) + (1 if n.attrs.get("new_axis", 0) else 0)
        axis = _axis(n.attrs.get("axis", 0), rank)
        shape = tuple(None if i == axis else d for i, d in enumerate(seq.shape))
        if n.attrs.get("new_axis", 0):
            shape = (
                (None,) * rank if axis is None else seq.shape[:axis] + (None,) + seq.shape[axis:]
            )
    s.set(_out(n), seq.dtype, shape)


@_rule("Optional")
def _optional(s: _Scope, n: Node) -> None:
    if _in(n, 0):
        x = s.value(_in(n, 0))
        s.set(_out(n), x.dtype, x.shape, "optional")
    else:
        s.set(_out(n), None, None, "optional")


@_rule("OptionalGetElement")
def _optional_get(s: _Scope, n: Node) -> None:
    x = s.value(_in(n, 0))
    s.set(_out(n), x.dtype, x.shape, "tensor" if x.kind == "optional" else x.kind)


@_rule("OptionalHasElement")
def _optional_has(s: _Scope, n: Node) -> None:
    s.set(_out(n), "bool", ())
