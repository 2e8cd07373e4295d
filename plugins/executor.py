"""From a graph and the selected backends to a runnable Program: plan, compile, fuse.

Kernel claims become per-node overrides (the kernel runs with the reference's arguments); subgraph
claims are cut out, compiled by their backend and replaced by one fused node. A partition whose
compile raises falls back to the reference, with the reason recorded in the placement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..refimpl.interpreter import Override, Program
from ..refimpl.ir import Graph, Node
from ..refimpl.memory_plan import plan_memory
from .backend import KernelBackend
from .manager import configure_backends, op_registry, select_backends
from .partition import extract_partition, fuse
from .planner import Placement, plan
from .reference_backend import REFERENCE

log = logging.getLogger("gossamer.plugins")


def build_program(
    graph: Graph,
    backends: list[str] | None = None,
    backend_options: Mapping[str, Mapping[str, Any]] | None = None,
    order: list[Node] | None = None,
) -> tuple[Program, Placement]:
    """The program that runs `graph` on the chosen backends, and the placement it follows.
    `backend_options`: {backend: {option: value}}, checked against what each backend declares
    (`Backend.options`); those backends run this program as configured copies. `order`: the
    graph's nodes in topological order (`graph.validate()`), if the caller has it."""
    selected, excluded = select_backends(backends)
    selected = configure_backends(selected, backend_options)
    placement = plan(graph, selected, excluded)
    by_name = {n.name: n for n in graph.nodes}
    overrides: dict[str, Override] = {}
    partitions: list[Graph] = []
    fixed = graph.constant_initializers()
    for index, (backend, claim) in enumerate(placement.partitions):
        if isinstance(backend, KernelBackend) and len(claim.nodes) == 1:
            node = by_name[claim.nodes[0]]
            found = backend.kernel_for(node, graph.opsets)
            if found is not None:
                constants = {i: fixed[name] for i, name in enumerate(node.inputs) if name in fixed}
                try:
                    overrides[node.name] = Override(found.for_node(node, constants), backend.name)
                    continue
                except BaseException as err:  # a failing prepare falls back like a failing compile
                    if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                        raise
                    _fall_back(placement, backend.name, claim.nodes, err)
                    continue
        part = extract_partition(graph, claim.nodes, f"{backend.name}_partition_{index}")
        try:
            compiled = backend.compile(part, claim)
        except BaseException as err:  # fall back, visibly
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            _fall_back(placement, backend.name, claim.nodes, err)
            continue
        partitions.append(part)
        covers = tuple(f"{n} ({by_name[n].op_type})" for n in claim.nodes)
        overrides[part.name] = Override(compiled, backend.name, partition=True, covers=covers)
    placement.partitions = [
        (b, c) for b, c in placement.partitions if placement.backend_of[c.nodes[0]] == b.name
    ]
    executed = fuse(graph, partitions) if partitions else graph
    # backend kernels may write into an arena (reference ops always allocate: no plan for them);
    # a graph with symbolic inputs plans one per input shape at run, and its declared shapes'
    # plan (for runs that get none) when a run first needs it (Program's plan_later)
    steps = order if executed is graph else None  # (a fused graph has other nodes)
    program = Program(
        executed, op_registry(), overrides=overrides,
        plan_later=(lambda: plan_memory(executed, order=steps)) if overrides else None,
        order=steps,
    )  # fmt: skip
    hooks = _start_hooks(overrides)
    if hooks:  # the interpreter takes one builder's hook (the first builder's): run them all
        program._run_starts = hooks[0] if len(hooks) == 1 else _run_all(tuple(hooks))
    return program, placement


def _start_hooks(overrides: Mapping[str, Override]) -> list[Callable[[], None]]:
    """Every distinct early-start hook (`run_starts` of an impl's `segment_builder`) the
    overrides name, in override order: in a session mixing backends (opencl partitions beside
    cython kernels) each backend's hook runs as a run begins, not only the first one found."""
    hooks: list[Callable[[], None]] = []
    for override in overrides.values():
        builder = getattr(override.impl, "segment_builder", None)
        hook = getattr(builder, "run_starts", None)
        if hook is not None and hook not in hooks:
            hooks.append(hook)
    return hooks


def _run_all(hooks: tuple[Callable[[], None], ...]) -> Callable[[], None]:
    def run_starts() -> None:
        for hook in hooks:
            hook()

    return run_starts


def _fall_back(
    placement: Placement, backend: str, nodes: tuple[str, ...], err: BaseException
) -> None:
    reason = f"compile failed: {type(err).__name__}: {err}"
    log.warning("backend %r: %s; its %d node(s) fall back", backend, reason, len(nodes))
    for node in nodes:
        placement.backend_of[node] = REFERENCE
        placement.declined.setdefault(node, {})[backend] = reason
