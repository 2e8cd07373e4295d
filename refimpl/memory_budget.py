"""The memory budget: the most bytes one tensor (or a session's arena) may take, checked up front.

A hostile or mistaken model can ask for a tensor of 2^70 bytes, or a feed can make a symbolic dim
huge; allocating first and failing later either raises a bare MemoryError deep inside a kernel or,
worse, succeeds and takes the machine's memory. So sizes are computed with exact integers from
shapes before anything is allocated and compared with the budget:

- at load, every tensor whose shape is static (and the planned arena);
- at run, every tensor whose shape the feeds decide (shape inference with the feeds' shapes);
- before a node whose output size depends on input values (ConstantOfShape, Expand, Tile, Range,
  Pad, Resize, ...), that node's shape rule on its actual inputs;
- kernels' work buffers, through `plugins.run_context.check_allocation`.

The default budget is three quarters of the memory this process can use (physical memory, or the
address-space limit when one is set); `GOSSAMER_MAX_MEMORY` or `max_memory=` change it.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from .dtypes import name_of, to_numpy
from .errors import InputError, MemoryBudgetError
from .ir import Graph, Node, Value
from .memory_plan import with_input_shapes
from .shape_inference import infer_shapes
from .shape_inference.symbolic import evaluate_dim

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
DEFAULT_SHARE = 0.75  # of the memory this process can use


def available_memory() -> int:
    """Bytes this process can use: physical memory, or the address-space limit when lower."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError):  # no sysconf: assume 8 GiB
        return 8 << 30
    limit = _address_space_limit()
    return physical if limit is None else min(physical, limit)


def _address_space_limit() -> int | None:
    """RLIMIT_AS's soft limit in bytes (None: unlimited or unknown). Read from /proc/self/limits
    where there is one: importing `resource` (an extension module) costs a process's first load
    ~0.2 ms."""
    try:
        fd = os.open("/proc/self/limits", os.O_RDONLY)
        try:
            text = os.read(fd, 1 << 14)
        finally:
            os.close(fd)
        for line in text.splitlines():
            if line.startswith(b"Max address space"):
                given = line.split()[3]  # "Max address space <soft> <hard> bytes"
                return None if given == b"unlimited" else int(given)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def default_budget() -> int:
    """GOSSAMER_MAX_MEMORY if set, else DEFAULT_SHARE of available_memory()."""
    env = os.environ.get("GOSSAMER_MAX_MEMORY", "").strip()
    if env:
        return parse_budget(env, "GOSSAMER_MAX_MEMORY")
    return int(available_memory() * DEFAULT_SHARE)


def parse_budget(value: int | str | None, what: str = "max_memory") -> int:
    """Bytes from an int or a string such as '512M', '4G', '1.5GB', '2GiB' (None: the default)."""
    if value is None:
        return default_budget()
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"{what} must be a byte count or a size like '4G', got {value!r}")
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", value.upper())
        if match is None:
            raise InputError(f"{what} must be a byte count or a size like '4G', got {value!r}")
        size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size < 1:
        raise InputError(f"{what} must be at least 1 byte, got {value!r}")
    return size


def format_bytes(n: int) -> str:
    """'1.5 GiB' style; exact bytes below 1 KiB, and scientific beyond any machine."""
    if n >= 1 << 60:
        return f"{n:.3g} bytes"
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def tensor_bytes(dtype: str, shape: Iterable[int]) -> int:
    """Exact bytes of a dense tensor (Python integers: never overflows)."""
    return math.prod(int(d) for d in shape) * to_numpy(dtype).itemsize


def static_bytes(value: Value) -> int | None:
    """Bytes of a tensor whose dtype and every dim are known, else None."""
    if value.kind != "tensor" or value.dtype in (None, "string") or value.shape is None:
        return None
    if not all(is_static_dim(d) for d in value.shape):
        return None
    return tensor_bytes(value.dtype, value.shape)  # type: ignore[arg-type]


def is_static_dim(d: object) -> bool:
    """A dim known as a number (shape inference may give numpy integers)."""
    return isinstance(d, (int, np.integer)) and not isinstance(d, bool)


def over_budget(subject: str, budget: int, tensor: str = "", nbytes: int = 0) -> MemoryBudgetError:
    """The error for `subject` (what would take how much, e.g. "tensor 'y' ... would take 4 GiB")
    over `budget`, with the one way out every budget error names."""
    return MemoryBudgetError(
        f"{subject}, over the memory budget of {format_bytes(budget)}; raise it with "
        "max_memory= / --max-memory / GOSSAMER_MAX_MEMORY if this is intended",
        tensor=tensor,
        nbytes=nbytes,
        budget=budget,
    )


def check_values(values: Iterable[Value], budget: int, model: str, cause: str) -> int:
    """Raises MemoryBudgetError for the largest tensor among `values` over `budget`; else
    returns the bytes of those whose size is known, each rounded up to 64 (what an arena plan
    aligns them to: memory_plan.arena_bound).

    `cause` says what fixed the shapes (e.g. "its declared shapes", "the feeds x: [1, 3, 9999]").
    """
    worst: tuple[int, str, tuple] | None = None
    total = 0
    for value in values:
        nbytes = static_bytes(value)
        if nbytes is None:
            continue
        total += -(-nbytes // 64) * 64
        if nbytes > budget and (worst is None or nbytes > worst[0]):
            worst = (nbytes, value.name, tuple(value.shape or ()))
    if worst is not None:
        nbytes, name, shape = worst
        raise over_budget(
            f"model {model!r}: tensor {name!r} of shape {list(shape)} would take "
            f"{format_bytes(nbytes)} (given {cause})",
            budget,
            tensor=name,
            nbytes=nbytes,
        )
    return total


# ---- run time: shapes the feeds or input values decide ----------------------------------------
SMALL_INT_ELEMENTS = 1024  # integer inputs up to this size are given to the rule by value


class SizeGuard:
    """Checks, before a node runs, the outputs its shape rule infers from the node's actual inputs.

    For the nodes whose output sizes depend on input values (unknown until they run); cheap for
    every other node, which it never sees.
    """

    def __init__(self, nodes: Iterable[str], budget: int, model: str, opsets: dict[str, int]):
        self.nodes = frozenset(nodes)
        self.budget = budget
        self.model = model
        self.opsets = dict(opsets)

    def check(self, node: Node, args: list) -> None:
        if next(node.subgraphs(), None) is not None:
            return  # a body's tensors are checked as they are built (MemoryError is caught)
        inputs: list[Value] = []
        constants: dict[str, np.ndarray] = {}
        for name, arg in zip(node.inputs, args):
            if not name or not isinstance(arg, np.ndarray):
                continue
            if arg.dtype.kind in "iu" and arg.size <= SMALL_INT_ELEMENTS:
                constants[name] = arg
            else:
                inputs.append(Value(name, name_of(arg.dtype), tuple(arg.shape)))
        outputs = [Value(o) for o in node.outputs if o]
        probe = Graph([node], inputs, outputs, constants, node.name, self.opsets)
        inferred = infer_shapes(probe)
        check_values(
            (inferred[o.name] for o in outputs if o.name in inferred),
            self.budget,
            self.model,
            f"the values of its inputs at node {node.name!r} ({node.op_type})",
        )


_MISSING = object()
# an input dim that evaluate_dim may bind: a name, not one of inference's own (unk__N)
_PLAIN_SYMBOL = re.compile(r"(?!unk__)[A-Za-z_][A-Za-z0-9_.]*\Z")


def with_unknown_dims_named(graph: Graph) -> tuple[Graph, frozenset[str]]:
    """The graph with every unknown dim (None: an exporter's -1 or "?") of its fed inputs named
    after its input and axis ("x.2"), so the declared shapes' inference derives every size from
    the inputs and a run's checks and arena plan evaluate them at its feeds instead of inferring
    again (RunSizes._sized_at). Each such dim gets a name of its own, as it is unknown: no two
    are made equal. Returns the graph (`graph` itself where there is none) and the names given
    (a derived dim mentioning one is unknown to the user: unnamed_dims)."""
    fed = [v for v in graph.inputs if v.name not in graph.initializers and v.shape is not None]
    if not any(d is None for v in fed for d in v.shape):  # type: ignore[union-attr]
        return graph, frozenset()
    taken = {d for v in fed for d in v.shape if isinstance(d, str)}  # type: ignore[union-attr]
    named: dict[str, tuple] = {}
    for v in fed:
        if None not in v.shape:  # type: ignore[operator]
            continue
        base = re.sub(r"[^A-Za-z0-9_.]", "_", v.name)
        base = base if re.match(r"[A-Za-z_]", base) else f"_{base}"
        shape = []
        for axis, d in enumerate(v.shape):  # type: ignore[arg-type]
            if d is None:
                d = f"{base}.{axis}"
                while d in taken:
                    d += "_"
                taken.add(d)
            shape.append(d)
        named[v.name] = tuple(shape)
    given = frozenset(d for v in fed for d in named.get(v.name, ()) if d not in v.shape)
    return with_input_shapes(graph, named), given


def unnamed_dims(value: Value, names: frozenset[str]) -> Value:
    """`value` with each dim that mentions one of `names` (with_unknown_dims_named's) unknown
    again (None), as the model's user sees it."""
    if not names or value.shape is None:
        return value
    shape = tuple(
        None if isinstance(d, str) and names.intersection(_DIM_SYMBOLS.findall(d)) else d
        for d in value.shape
    )
    return value if shape == value.shape else Value(value.name, value.dtype, shape, value.kind)


_DIM_SYMBOLS = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _static_or_none(d: object) -> int | None:
    return int(d) if is_static_dim(d) else None  # type: ignore[call-overload]


class RunSizes:
    """The memory-budget checks of one session's runs: the tensors whose sizes the feeds' shapes
    decide (inferred once per distinct set of feed shapes), and a SizeGuard for the nodes whose
    output sizes depend on input values. Safe to share between threads."""

    CACHED_SHAPES = 32

    def __init__(self, graph: Graph, inferred: dict[str, Value], budget: int) -> None:
        """Checks the tensors `inferred` from the declared shapes (raising MemoryBudgetError)."""
        self.graph = graph
        self.budget = budget
        self._lock = threading.Lock()
        # the declared shapes' tensors of known size, each aligned to 64: twice it bounds their
        # arena (memory_plan.arena_bound), so a Session can leave that plan to a run
        declared = [v for n, v in inferred.items() if n not in graph.initializers]
        cause = "its declared input shapes"
        self.declared_bytes = check_values(declared, budget, graph.name, cause)
        self.symbolic = [
            v.name
            for v in graph.inputs
            if v.name not in graph.initializers
            and v.shape is not None
            and not all(is_static_dim(d) for d in v.shape)
        ]
        self._guards: dict[tuple, SizeGuard | None] = {}
        # the declared shapes' tensors (but initializers): their dims are evaluated at each new
        # input shape where inference gave every top-level output (_sized_at), not inferred again
        self._declared = declared if self.symbolic else []
        self._complete = bool(self.symbolic) and all(
            o in inferred for node in graph.nodes for o in node.outputs if o
        )
        # the graph's nodes in topological order, where the owner has them (a Session: its
        # Program's steps): each new input shape's inference then does not sort them again
        self.order: list[Node] | None = None
        if not self.symbolic:
            self._guards[()] = self._guard(inferred)

    def is_new(self, feeds: dict[str, Any]) -> bool:
        """Whether guard_for has not seen these feeds' shapes yet (it infers shapes for them)."""
        if not self.symbolic:
            return False
        key = tuple([getattr(feeds.get(n), "shape", None) for n in self.symbolic])
        return key not in self._guards

    def guard_for(self, feeds: dict[str, Any]) -> SizeGuard | None:
        """Checks the feed-dependent sizes of a run (raising MemoryBudgetError) and returns the
        guard for its value-dependent nodes (None: there are none)."""
        if not self.symbolic:
            return self._guards[()]
        key = tuple([getattr(feeds.get(n), "shape", None) for n in self.symbolic])
        found = self._guards.get(key, _MISSING)  # one dict read: atomic, so no lock
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        shapes = {n: s for n, s in zip(self.symbolic, key) if s is not None}
        fed = ", ".join(f"{n}: {list(s)}" for n, s in shapes.items())
        sized = self._sized_at(shapes) if self._complete else None
        if sized is not None:  # every tensor's size known: no value-dependent node to guard
            check_values(sized, self.budget, self.graph.name, f"the feeds' shapes ({fed})")
            guard = None
        else:
            inferred = infer_shapes(with_input_shapes(self.graph, shapes), self.order)
            self._check(inferred, f"the feeds' shapes ({fed})")
            guard = self._guard(inferred)
        with self._lock:
            if len(self._guards) >= self.CACHED_SHAPES:
                self._guards.pop(next(iter(self._guards)))
            self._guards[key] = guard
        return guard

    def values_at(self, shapes: dict[str, tuple[int, ...]]) -> dict[str, Value] | None:
        """Every tensor's Value at the feeds' `shapes` (name -> Value), what inference at these
        shapes would give, where the declared shapes evaluate to them all; else None. An arena
        plan for these shapes takes them instead of inferring again (refimpl/shape_arenas.py)."""
        sized = self._sized_at(shapes) if self._complete else None
        return None if sized is None else {v.name: v for v in sized}

    def _sized_at(self, shapes: dict[str, tuple[int, ...]]) -> list[Value] | None:
        """The declared shapes' tensors with their dims evaluated at the feeds' `shapes`, or None
        unless the symbolic inputs' dims are plain names bound once each and every tensor's
        dims evaluate to sizes (then inference at these shapes would give the same)."""
        dims: dict[str, int] = {}
        for v in self.graph.inputs:
            given = shapes.get(v.name)
            if v.name not in self.symbolic:
                continue
            if given is None or v.shape is None or len(given) != len(v.shape):
                return None
            for d, n in zip(v.shape, given):
                if type(d) is str:  # (is_static_dim's isinstance is slow on a str)
                    if not _PLAIN_SYMBOL.match(d) or dims.setdefault(d, n) != n:
                        return None
                elif _static_or_none(d) != n:
                    return None
        sized: list[Value] = []
        memo: dict[str, tuple[int, int]] = {}  # sub-expression -> value, at these dims
        for v in self._declared:
            if v.kind != "tensor" or v.shape is None:
                return None
            shape: list[int] = []
            derived = False
            for d in v.shape:
                if type(d) is str:
                    n, derived = evaluate_dim(d, dims, memo), True
                else:
                    n = d if type(d) is int else _static_or_none(d)
                if n is None or n < 0:
                    return None
                shape.append(n)
            sized.append(Value(v.name, v.dtype, tuple(shape), v.kind) if derived else v)
        return sized

    def check_arena(self, nbytes: int) -> None:
        """Raises MemoryBudgetError when the planned arena alone exceeds the budget."""
        if nbytes > self.budget:
            raise over_budget(
                f"model {self.graph.name!r}: its intermediate tensors need an arena of "
                f"{format_bytes(nbytes)}",
                self.budget,
                nbytes=nbytes,
            )

    def _check(self, inferred: dict[str, Value], cause: str) -> int:
        """Every inferred tensor but the initializers (already loaded) against the budget; the
        aligned bytes of those of known size (check_values)."""
        initializers = self.graph.initializers
        values = [v for n, v in inferred.items() if n not in initializers]
        return check_values(values, self.budget, self.graph.name, cause)

    def _guard(self, inferred: dict[str, Value]) -> SizeGuard | None:
        """A guard for the top-level nodes with an output of unknown size, or None."""
        dynamic = [
            node.name
            for node in self.graph.nodes
            if any(o and _unsized(inferred.get(o)) for o in node.outputs)
        ]
        if not dynamic:
            return None
        return SizeGuard(dynamic, self.budget, self.graph.name, self.graph.opsets)


def _unsized(value: Value | None) -> bool:
    if value is None or value.kind != "tensor":
        return value is None
    return value.shape is None or not all(is_static_dim(d) for d in value.shape)
