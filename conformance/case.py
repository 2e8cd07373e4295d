"""The case record: one row of the conformance table (JAX `lax_reference` style).

A `Case` says, for one op (and optionally one older opset), which dtypes to test, how to draw the
input shapes (a hypothesis strategy), which attributes are valid for those shapes (a strategy built
from the shapes), and how each input's values are made (`Arg`: a value domain, or a function of the
drawn shapes and attributes, e.g. indices valid for an axis). `draw_example` turns a case into one
concrete `Example`; `graph_of` turns an example into a one-node Graph.
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


@dataclass(frozen=True)
class Arg:
    """One input. `domain`: a value-domain key of `values.DOMAINS` (the input's shape is the
    matching entry of the drawn shapes; None there = input absent) or a Maker. `dtype`: a fixed
    dtype (None = the case's dtype under test). `const`: an initializer (shape/axes-like inputs)."""

    domain: str | Maker = "any"
    dtype: str | None = None
    const: bool = False


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
    special: bool = False  # mix in special values (NaN, ±inf, -0.0, denormals, int extremes)

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


DEFAULT_OPSET = 21


def opset_of(case: Case) -> int:
    if case.opset is not None:
        return case.opset
    from ..plugins.manager import op_registry

    versions = op_registry().versions(case.domain, case.op)
    default = DEFAULT_OPSET if not case.domain else 1
    return max([default, *versions])


@st.composite
def draw_example(draw: Any, case: Case, dtype: str) -> Example:
    """A hypothesis strategy of concrete examples of `case` at `dtype`."""
    shapes = draw(case.shapes)
    attrs = draw(case.attrs(shapes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ctx = Ctx(shapes, dict(attrs), dtype, rng, draw)
    for i, arg in enumerate(case.args):
        arg_dtype = arg.dtype or dtype
        if callable(arg.domain):
            value = arg.domain(ctx)
        else:
            shape = shapes[i] if i < len(shapes) else None
            value = None if shape is None else values.make(arg.domain, shape, arg_dtype, rng)
        ctx.inputs.append(value)
    if case.special and draw(st.integers(0, 3)) == 0:  # one example in four carries specials
        ctx.inputs = [
            special_values.sprinkle(v, rng) if v is not None and not case.args[i].const else v
            for i, v in enumerate(ctx.inputs)
        ]
    while ctx.inputs and ctx.inputs[-1] is None:
        ctx.inputs.pop()
    return Example(case, dtype, ctx.inputs, ctx.attrs, opset_of(case))


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
