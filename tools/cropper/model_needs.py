"""What each model needs from Gossamer, found by loading it in the full build exactly as the
cropped build will: its format (so its importer), every reference op resolved while it is
imported, optimised and planned (the importer's ops, the ops the optimiser folds away and the
gossamer-domain fused ops it introduces, control-flow bodies), and the Cython kernel modules the
planner places its nodes on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...refimpl import model_format
from ...refimpl.ir import Graph, Node
from ...refimpl.registry import OpRegistry

FORMATS = ("onnx", "tflite", "gsm")
# the in-tree backend whose kernel modules and C families a crop chooses
CYTHON = "cython"


@dataclass
class ModelNeeds:
    """One model's needs: op modules, kernel modules and its file format."""

    path: str
    format: str
    ops: dict[tuple[str, str], str] = field(default_factory=dict)  # (domain, op) -> op module
    kernel_modules: set[str] = field(default_factory=set)  # cython_kernels modules placed on
    nodes: int = 0
    placed: dict[str, int] = field(default_factory=dict)  # backend -> nodes


def model_format_of(path: str | Path) -> str:
    """ "gsm", "tflite" or "onnx", told by content as gossamer.load tells it."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(model_format.MAGIC):
        return "gsm"
    if head[4:8] == b"TFL3":
        return "tflite"
    return "onnx"


@contextlib.contextmanager
def recording_resolutions() -> Iterator[dict[tuple[str, str], str]]:
    """Records, while active, every op any registry resolves: (domain, op_type) -> the module of
    the reference function it resolved to."""
    seen: dict[tuple[str, str], str] = {}
    original = OpRegistry.resolve

    def resolve(self: OpRegistry, domain: str, op_type: str, opset: int):  # type: ignore[no-untyped-def]
        fn = original(self, domain, op_type, opset)
        if fn is not None:
            seen["" if domain in ("", "ai.onnx") else domain, op_type] = fn.__module__
        return fn

    OpRegistry.resolve = resolve  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        OpRegistry.resolve = original  # type: ignore[method-assign]


def model_needs(path: str | Path, optimize: int) -> ModelNeeds:
    """Loads `path` at optimisation level `optimize` with every registered backend (the
    environment's GOSSAMER_BACKENDS aside) and records its needs."""
    from ...plugins.manager import all_backends, op_registry
    from ...session import load, read_model

    needs = ModelNeeds(str(path), model_format_of(path))
    with recording_resolutions() as seen:
        imported = read_model(str(path))
        # the graph as imported, so that the crop also loads it at a lower -O level
        registry = op_registry()
        for node, opsets in _all_nodes(imported, imported.opsets):
            domain = "" if node.domain == "ai.onnx" else node.domain
            registry.resolve(domain, node.op_type, _opset(opsets, domain))
        # every backend a plain load uses, whatever GOSSAMER_BACKENDS says: the crop ships what
        # any of them needs (opt-in ones, default_selected False, such as an NPU delegate, only
        # run where named, so they do not take nodes from the CPU backends here)
        chosen = sorted(n for n, b in all_backends().items() if b.default_selected)
        session = load(str(path), optimize=optimize, backends=chosen)
    needs.ops = dict(seen)
    needs.nodes = len(session.graph.nodes)
    needs.placed = session.placement.summary()
    backends = {b.name: b for b, _ in session.placement.partitions}
    cython = backends.get(CYTHON)
    if cython is not None:
        kernels_of = getattr(cython, "kernel_for", None)
        for node in session.graph.nodes:
            if session.placement.backend_of.get(node.name) != CYTHON or kernels_of is None:
                continue
            kernel = kernels_of(node, session.graph.opsets)
            if kernel is not None:
                needs.kernel_modules.add(_defining_module(type(cython), kernel.reference))
    return needs


def _all_nodes(graph: Graph, opsets: dict[str, int]) -> Iterator[tuple[Node, dict[str, int]]]:
    """Every node of `graph` and of the bodies (If, Loop, Scan) inside it."""
    for node in graph.nodes:
        yield node, opsets
        for value in node.attrs.values():
            if isinstance(value, Graph):
                yield from _all_nodes(value, {**opsets, **value.opsets})


def _opset(opsets: dict[str, int], domain: str) -> int:
    return opsets.get(domain, opsets.get("ai.onnx", 0) if domain == "" else 0)


def _defining_module(backend_class: type, reference: object) -> str:
    """The module of the kernel-table class (a mixin of the backend) that declares the kernel."""
    module_of = getattr(getattr(backend_class, "kernels", None), "module_of", None)
    if module_of is not None:  # the cython backend's lazily imported tables (lazy_tables.py)
        return module_of(reference) or backend_class.__module__
    for cls in backend_class.__mro__[1:]:
        if reference in vars(cls).get("kernels", {}):
            return cls.__module__
    return backend_class.__module__
