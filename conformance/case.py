"""The case record: one row of the conformance table (JAX `lax_reference` style).

A `Case` says, for one op (and optionally one older opset), which dtypes to test, how to draw the
input shapes (a hypothesis strategy), which attributes are valid for those shapes (a strategy built
from the shapes), and how each input's values are made (`Arg`: a value domain, or a function of the
drawn shapes and attributes, e.g. indices valid for an axis). Besides the drawn examples a case
lists `edges`: fixed (shapes, attributes) pairs that every run checks (the attribute combinations
that change output shapes or indexing, and shapes that cross SIMD block widths). `draw_example`
turns a case (or one of its edges) into one concrete `Example`; `graph_of` turns an example into a
one-node Graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..refimpl.dtypes import to_numpy
from ..refimpl.ir import Graph, Node, Value
from . import special_values, values
from .storage import round_to
from .storage import specials_dtype as storage_of

Shape = tuple[int, ...]


@dataclass
class Ctx:
    """What a dependent input's maker sees: drawn shapes, attributes, dtype, earlier inputs."""

    shapes: tuple[Any, ...]
    attrs: dict[str, Any]
    dtype: str
    rng: np.random.Generator
    draw: Callable[[st.SearchStrategy[Any]], Any]
    inputs: list[np.ndarray | None] = field(default_factory=list)


Maker = Callable[[Ctx], "np.ndarray | None"]
# A fixed example: the value the shapes strategy would draw, and the attributes (None: drawn from
# the case's attribute strategy for those shapes).
Edge = tuple[tuple[Any, ...], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Arg:
    """One input. `domain`: a value-domain key of `values.DOMAINS` (the input's shape is the
    matching entry of the drawn shapes; None there = input absent) or a Maker. `dtype`: a fixed
    dtype (None = the case's dtype under test). `const`: an initializer (shape/axes-like inputs).
    `special`: whether special values may replace elements (None: yes for value domains other
    than "distinct", no for makers, which build structured inputs such as indices)."""

    domain: str | Maker = "any"
    dtype: str | None = None
    const: bool = False
    special: bool | None = None

    def takes_specials(self) -> bool:
        if self.const:
            return False
        if self.special is not None:
            return self.special
        return isinstance(self.domain, str) and self.domain != "distinct"


def one_shape(ctx_shapes: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just({})


@dataclass(frozen=True)
class Case:
    """One row of the table: op x dtypes, with input, shape and attribute strategies."""

    op: str
    args: tuple[Arg, ...]
    dtypes: tuple[str, ...]
    shapes: st.SearchStrategy[tuple[Any, ...]]
    attrs: Callable[[tuple[Any, ...]], st.SearchStrategy[dict[str, Any]]] = one_shape
    domain: str = ""
    opset: int | None = None  # None: max(DEFAULT_OPSET, the op's newest version)
    variant: str = ""  # distinguishes several cases of one op (e.g. "opset11")
    outputs: int = 1
    tol: str = "default"  # a key of tolerances.KEY_FACTORS
    reduced: Callable[[Example], int] | None = None  # length of the longest reduction (widens tol)
    special: bool = True  # mix in special values (NaN, ±inf, -0.0, subnormals, overflow, extremes)
    edges: tuple[Edge, ...] = ()  # fixed examples every run checks
    accumulate: bool | None = None  # sums signed terms (None: tol "matmul"); see special_values

    @property
    def id(self) -> str:
        name = f"{self.domain}::{self.op}" if self.domain else self.op
        return f"{name}:{self.variant}" if self.variant else name


@dataclass
class Example:
    """One concrete instance of a case."""

    case: Case
    dtype: str
    inputs: list[np.ndarray | None]
    attrs: dict[str, Any]
    opset: int

    def __repr__(self) -> str:  # hypothesis prints examples: shapes, not kilobytes of values
        shapes = [None if v is None else f"{v.dtype}{list(v.shape)}" for v in self.inputs]
        return f"Example({self.case.id} [{self.dtype}], inputs {shapes}, attrs {self.attrs})"


DEFAULT_OPSET = 21


def opset_of(case: Case) -> int:
    if case.opset is not None:
        return case.opset
    from ..plugins.manager import op_registry

    versions = op_registry().versions(case.domain, case.op)
    default = DEFAULT_OPSET if not case.domain else 1
    return max([default, *versions])


def draw_example(case: Case, dtype: str, storage: str | None = None) -> st.SearchStrategy[Example]:
    """A hypothesis strategy of concrete examples of `case` at `dtype` (`storage`: see
    build_example)."""
    return _EXAMPLES(case, dtype, storage=storage)


def build_example(
    draw: Any,
    case: Case,
    dtype: str,
    edge: Edge | None = None,
    extremes: int | None = None,
    storage: str | None = None,
) -> Example:
    """One concrete example of `case` at `dtype`, drawing with `draw`; with `edge`, of that fixed
    example (shapes and attributes given, values still drawn); with `extremes` (an offset into
    the special-value pool), every special-taking input cycles through the whole pool. With
    `storage` (the backend's storage_dtype), wider float inputs take that type's special values
    and are rounded to it, except constant inputs built by makers (shape-like: scales, ...)."""
    if edge is None:
        shapes = draw(case.shapes)
        attrs = draw(_attrs_strategy(case, shapes))
    else:
        shapes = edge[0]
        attrs = dict(edge[1]) if edge[1] is not None else draw(_attrs_strategy(case, shapes))
    rng = np.random.default_rng(draw(_SEEDS))
    ctx = Ctx(shapes, dict(attrs), dtype, rng, draw)
    for i, arg in enumerate(case.args):
        arg_dtype = arg.dtype or dtype
        if callable(arg.domain):
            value = arg.domain(ctx)
        else:
            shape = shapes[i] if i < len(shapes) else None
            value = None if shape is None else values.make(arg.domain, shape, arg_dtype, rng)
        ctx.inputs.append(value)
    acc = accumulates(case)
    if extremes is not None:
        ctx.inputs = _with_specials(case, ctx.inputs, lambda v, d: special_values.fill(
            v, extremes, d, acc, storage_of(v.dtype, storage)))  # fmt: skip
    elif edge is None and case.special and draw(_QUARTER) == 0:  # one example in four
        ctx.inputs = _with_specials(case, ctx.inputs, lambda v, d: special_values.sprinkle(
            v, rng, domain=d, accumulate=acc, pool_dtype=storage_of(v.dtype, storage)))  # fmt: skip
    if storage is not None:
        ctx.inputs = [
            v if arg.const and callable(arg.domain) else round_to(v, storage)
            for arg, v in zip(case.args, ctx.inputs)
        ]
    while ctx.inputs and ctx.inputs[-1] is None:
        ctx.inputs.pop()
    attrs = {k: v for k, v in ctx.attrs.items() if not k.startswith("_")}  # "_x": makers' notes
    return Example(case, dtype, ctx.inputs, attrs, opset_of(case))


_EXAMPLES = st.composite(build_example)
_SEEDS = st.integers(0, 2**32 - 1)
_QUARTER = st.integers(0, 3)


def _with_specials(
    case: Case, inputs: list[np.ndarray | None], put: Callable[[np.ndarray, str], np.ndarray]
) -> list[np.ndarray | None]:
    out = list(inputs)
    for i, (arg, v) in enumerate(zip(case.args, inputs)):
        if v is not None and arg.takes_specials():
            out[i] = put(v, arg.domain if isinstance(arg.domain, str) else "any")
    return out


def accumulates(case: Case) -> bool:
    """True for ops that sum signed terms (their special values leave out large finite values,
    whose cancellation depends on the summation order)."""
    return case.accumulate if case.accumulate is not None else case.tol == "matmul"


def takes_specials(case: Case) -> bool:
    """True if some input of the case takes special values."""
    return case.special and any(a.takes_specials() for a in case.args)


_ATTR_CACHE: dict[tuple[Any, str], st.SearchStrategy[dict[str, Any]]] = {}


def _attrs_strategy(case: Case, shapes: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """case.attrs(shapes), memoised: building (and validating) a strategy per example is slow."""
    key = (case.attrs, repr(shapes))  # the function itself: the cache keeps it alive
    found = _ATTR_CACHE.get(key)
    if found is None:
        if len(_ATTR_CACHE) > 20000:
            _ATTR_CACHE.clear()
        found = _ATTR_CACHE[key] = case.attrs(shapes)
    return found


def graph_of(ex: Example) -> Graph:
    """The one-node graph of an example: inputs x0.., outputs y0.., const args as initializers."""
    names: list[str] = []
    inputs: list[Value] = []
    inits: dict[str, np.ndarray] = {}
    for i, value in enumerate(ex.inputs):
        if value is None:
            names.append("")
            continue
        name = f"x{i}"
        names.append(name)
        if ex.case.args[i].const:
            inits[name] = value
        else:
            inputs.append(Value(name, values.dtype_name(value), tuple(value.shape)))
    outputs = [f"y{k}" for k in range(ex.case.outputs)]
    node = Node(ex.case.op, names, outputs, dict(ex.attrs), name="node", domain=ex.case.domain)
    opsets = {"": ex.opset if not ex.case.domain else DEFAULT_OPSET}
    if ex.case.domain:
        opsets[ex.case.domain] = ex.opset
    return Graph(
        nodes=[node],
        inputs=inputs,
        outputs=[Value(o) for o in outputs],
        initializers=inits,
        name=f"conformance_{ex.case.op}",
        opsets=opsets,
    )


def feeds_of(ex: Example) -> dict[str, np.ndarray]:
    return {
        f"x{i}": v for i, v in enumerate(ex.inputs) if v is not None and not ex.case.args[i].const
    }


def np_dtype(name: str) -> np.dtype:
    return to_numpy(name)
