"""The Backend contract: claim nodes, compile what was granted, never redefine an op.

Two kinds of backend:
- `KernelBackend`: overrides single ops with kernels. A kernel is declared with
  `@kernel(<reference function>, dtypes=..., supports=...)`; its signature must equal the reference
  function's (checked when the class is created). A node whose dtype, attributes or shapes a kernel
  does not support is simply not claimed: it falls back, visibly.
- `Backend` (subgraph delegate): `get_capability(graph)` returns `Claim`s of connected node
  sets (and `Decline`s with reasons); the planner grants some of them; `compile(partition, claim)`
  turns a granted partition (a standalone Graph of the claimed nodes) into a callable.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..refimpl.dtypes import DTYPE_NAMES
from ..refimpl.errors import GossamerError, InputError
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.registry import OpFunction, spec_of

# A compiled partition: called with the partition graph's inputs (positional, in order), returns
# its outputs (one value, or a tuple in the order of the partition graph's outputs).
CompiledPartition = Callable[..., Any]
# A kernel's `supports` predicate: True/None = supported, False or a reason string = not supported.
SupportsPredicate = Callable[[Node, list[Value | None]], "bool | str | None"]
# A kernel's `prepare(node, constants)` hook: called once per claimed node at compile time with the
# node's constant inputs (input index -> array); returns the function to run, with the reference's
# signature (e.g. a closure over pre-packed weights).
PrepareHook = Callable[[Node, "dict[int, np.ndarray]"], Callable[..., Any]]


class BackendContractError(GossamerError):
    """A backend breaks the plugin contract (bad kernel signature, bad claim, duplicate name)."""


class BackendOptionError(InputError):
    """Backend options a session was given do not fit: an unknown backend, a backend that is not
    in the session, an option the backend does not declare, or a value it refuses. The message
    names what is accepted."""


@dataclass(frozen=True)
class BackendOption:
    """One option a backend accepts per session (`Backend.options`), as onnxruntime's provider
    options: `gossamer.load(model, backends=["x"], backend_options={"x": {name: value}})`.

    `parse(value)` turns what the user gave (any Python value, or a string from the CLI or from
    onnxruntime-style provider options) into the value the backend uses; it raises ValueError or
    TypeError with a short reason for a bad value. `choices`: the accepted values, when there are
    few (checked after parse). `doc`: what the option means and its default (shown in the
    errors that list the accepted options)."""

    name: str
    doc: str
    parse: Callable[[Any], Any] = str
    choices: tuple[Any, ...] | None = None

    def describe(self) -> str:
        allowed = f" (one of {', '.join(map(str, self.choices))})" if self.choices else ""
        return f"{self.name}{allowed}: {self.doc}"


@dataclass(frozen=True)
class Claim:
    """A backend's request to run these nodes (by name) as one partition."""

    nodes: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Decline:
    """A backend's statement that it will not run a node, and why (shown by `gossamer explain`)."""

    node: str
    reason: str


@dataclass(frozen=True)
class Kernel:
    """An override of one reference function."""

    reference: OpFunction
    fn: Callable[..., Any]
    dtypes: frozenset[str] | None = None
    supports: SupportsPredicate | None = None
    prepare: PrepareHook | None = None

    def for_node(self, node: Node, constants: dict[int, np.ndarray]) -> Callable[..., Any]:
        """The function that runs `node`: `prepare(node, constants)` if the kernel has one (e.g. to
        pre-pack weights once), else the kernel itself. Either way it takes the reference's
        arguments."""
        if self.prepare is None:
            return self.fn
        prepared = self.prepare(node, constants)
        check_kernel_signature(self.reference, prepared)
        return prepared

    @property
    def op_type(self) -> str:
        return spec_of(self.reference).op_type


def kernel(
    reference: OpFunction,
    *,
    dtypes: Iterable[str] | None = None,
    supports: SupportsPredicate | None = None,
    prepare: PrepareHook | None = None,
) -> Callable[[Callable[..., Any]], Kernel]:
    """Declares the decorated function as a kernel for `reference` (inside a KernelBackend class).

    `dtypes`: the dtypes of input 0 the kernel accepts (None: all the reference accepts).
    `supports(node, input_values)`: True if the kernel handles this node's attributes and input
    types/shapes; False or a short reason string if not.
    `prepare(node, constants)`: optional; returns the per-node function to run (same signature),
    built once at compile time from the node's constant inputs (input index -> array).
    """
    spec_of(reference)  # raises TypeError if it is not a reference op
    allowed = frozenset(dtypes) if dtypes is not None else None
    if allowed is not None and not allowed <= DTYPE_NAMES:
        raise BackendContractError(f"unknown dtype(s) {sorted(allowed - DTYPE_NAMES)} in @kernel")

    def wrap(fn: Callable[..., Any]) -> Kernel:
        check_kernel_signature(reference, fn)
        return Kernel(reference, fn, allowed, supports, prepare)

    return wrap


def check_kernel_signature(reference: OpFunction, fn: Callable[..., Any]) -> None:
    """Raises BackendContractError unless fn's parameters equal the reference's (names, kinds,
    defaults)."""
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is reference and not hasattr(fn, "__signature__"):
        return  # inspect.signature would read the reference's own (a stub, a prepared kernel)
    code = getattr(fn, "__code__", None)
    # what else makes two functions with one code object differ: defaults, what they wrap,
    # the signature they claim
    defaults = (
        getattr(fn, "__defaults__", None),
        getattr(fn, "__kwdefaults__", None),
        wrapped,
        getattr(fn, "__signature__", None),
    )
    if code is not None and _VERIFIED.get((reference, code)) == defaults:
        return  # another closure of the same prepare hook, already checked
    want: Any = _code_params(reference)
    got: Any = _code_params(fn)
    if want is None or got is None:  # a wrapper, a builtin, a partial: inspect says
        want, got = _params(reference), _params(fn)
    if want != got:
        raise BackendContractError(
            f"kernel {fn.__qualname__} must have the signature of the reference "
            f"{reference.__module__}.{reference.__name__}{inspect.signature(reference)}, "
            f"got {inspect.signature(fn)}"
        )
    if code is not None:
        _VERIFIED[(reference, code)] = defaults


# (reference, code object) -> the defaults (and __wrapped__, __signature__) of a function found
# to have the reference's signature
_VERIFIED: dict[tuple[Any, Any], tuple[Any, Any, Any, Any]] = {}


def _params(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _code_params(fn: Callable[..., Any]) -> tuple[Any, ...] | None:
    """For a plain function, what inspect.signature would say, from its code object (10x
    faster: about 120 kernels are checked when the cython backend is imported); else None."""
    # inspect.signature follows __wrapped__ (a kernel stub standing for its reference) first
    fn = inspect.unwrap(fn, stop=lambda f: hasattr(f, "__signature__"))
    code = getattr(fn, "__code__", None)
    if type(fn).__name__ != "function" or code is None or hasattr(fn, "__signature__"):
        return None
    n = code.co_argcount + code.co_kwonlyargcount
    return (
        code.co_varnames[: n + bool(code.co_flags & 4) + bool(code.co_flags & 8)],
        code.co_posonlyargcount,
        code.co_argcount,
        code.co_flags & 12,  # *args, **kwargs
        fn.__defaults__ or (),
        fn.__kwdefaults__ or {},
    )


class Backend:
    """Base of every backend. Subclasses set `name` and implement the methods below."""

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 0  # higher wins where claims overlap; the reference has the lowest
    min_partition_size: ClassVar[int] = 1  # claims with fewer nodes are declined by the planner
    # False: the backend runs only where it is named (backends=, --backends, GOSSAMER_BACKENDS),
    # never by default; for targets other than this host (an NPU simulated here)
    default_selected: ClassVar[bool] = True
    # the options a session may give this backend (backend_options=); none by default
    options: ClassVar[tuple[BackendOption, ...]] = ()
    # the options this instance was configured with (parsed); {} on the registered instance
    option_values: dict[str, Any] = {}

    def is_available(self) -> str | None:
        """None if this backend can run here; else the reason it cannot (cheap, no side effects)."""
        return None

    def configure(self, values: dict[str, Any]) -> Backend:
        """The backend one session uses with these options (names declared in `options`, values
        already parsed and checked against `choices`). Called once per session that gives this
        backend options; the default returns a shallow copy with `option_values` set (the
        registered instance is never changed), so sessions with different options do not share
        them. Override to check a value against this machine (a device that must exist) by
        raising ValueError with the reason; the host turns whatever it raises into a
        BackendOptionError."""
        import copy

        configured = copy.copy(self)
        configured.option_values = dict(values)
        return configured

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        """Pure and deterministic: the node sets this backend wants to run, and why it declines
        others."""
        raise NotImplementedError

    def compile(self, graph: Graph, claim: Claim) -> CompiledPartition:
        """Compiles a granted partition (`graph` holds exactly the claimed nodes; its inputs and
        outputs are the partition boundary). May be slow. Must not keep a reference to `graph`."""
        raise NotImplementedError

    def op_count(self) -> int | None:
        """How many op types this backend can claim, if it knows (shown by `gossamer backends`)."""
        return None

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class DeferredBackend:
    """A backend registered by name and import path (`register(DeferredBackend(...))`): its
    module is imported only when a session selects it (by name, or by default if
    `default_selected`) or a caller asks about every backend (`all_backends()`,
    `gossamer backends`). For a backend whose module is costly to import and that most sessions
    do not use. `target` is "package.module:Class", instantiated without arguments; its class
    must have this name, priority and default_selected."""

    name: str
    target: str
    priority: int = 0
    default_selected: bool = True

    def load(self) -> Backend:
        """The backend itself (imports its module)."""
        import importlib

        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        backend = cls()
        if not isinstance(backend, Backend):
            raise BackendContractError(f"{self.target} is not a gossamer.plugins.Backend")
        declared = (self.name, self.priority, self.default_selected)
        actual = (backend.name, backend.priority, backend.default_selected)
        if declared != actual:
            raise BackendContractError(
                f"{self.target} has name/priority/default_selected {actual}, but was registered "
                f"as {declared}"
            )
        return backend


class KernelBackend(Backend):
    """A backend made of per-op kernels, declared with `@kernel` in the class body."""

    kernels: ClassVar[dict[OpFunction, Kernel]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[OpFunction, Kernel] = {}
        for base in reversed(cls.__mro__[1:]):
            found.update(getattr(base, "kernels", {}))
        for value in vars(cls).values():
            if isinstance(value, Kernel):  # a subclass's kernel replaces an inherited one
                found[value.reference] = value
        cls.kernels = found

    def op_count(self) -> int | None:
        return len({k.op_type for k in self.kernels.values()})

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        from ..refimpl.shape_inference import infer_shapes
        from .manager import op_registry

        registry = op_registry()
        types = infer_shapes(graph)
        out: list[Claim | Decline] = []
        for node in graph.nodes:
            opset = _opset_of(graph.opsets, node.domain)
            reference = registry.resolve(node.domain, node.op_type, opset)
            k = self.kernels.get(reference) if reference is not None else None
            if k is None:
                out.append(Decline(node.name, f"no kernel for {node.op_type}"))
                continue
            inputs = [types.get(i) if i else None for i in node.inputs]
            reason = _kernel_refuses(k, node, inputs)
            out.append(Decline(node.name, reason) if reason else Claim((node.name,)))
        return out

    def compile(self, graph: Graph, claim: Claim) -> CompiledPartition:
        """A kernel claim is one node: the kernel runs it (same signature as the reference)."""
        (node,) = graph.nodes
        registry_kernel = self.kernel_for(node, graph.opsets)
        if registry_kernel is None:
            raise BackendContractError(f"{self.name}: no kernel for {node.label()}")
        return registry_kernel.fn

    def kernel_for(self, node: Node, opsets: dict[str, int]) -> Kernel | None:
        from .manager import op_registry

        opset = _opset_of(opsets, node.domain)
        reference = op_registry().resolve(node.domain, node.op_type, opset)
        return self.kernels.get(reference) if reference is not None else None


def _opset_of(opsets: dict[str, int], domain: str) -> int:
    """The opset a node's domain is imported at, as the interpreter reads it ("" = "ai.onnx")."""
    if domain in ("", "ai.onnx"):
        return opsets.get("", opsets.get("ai.onnx", 0))
    return opsets.get(domain, 0)


def _kernel_refuses(k: Kernel, node: Node, inputs: list[Value | None]) -> str | None:
    first = inputs[0] if inputs else None
    if k.dtypes is not None and first is not None:
        if first.dtype is None:
            return "dtype of input 0 is unknown before running"
        if first.dtype not in k.dtypes:
            return f"dtype {first.dtype} not supported (kernel takes {', '.join(sorted(k.dtypes))})"
    if k.supports is not None:
        try:
            verdict = k.supports(node, inputs)
        except BaseException as err:  # a buggy predicate declines this node only
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            return f"supports() raised {type(err).__name__}: {err}"
        if verdict is False:
            return "attributes or shapes not supported"
        if isinstance(verdict, str):
            return verdict
    return None
