"""The planner: decides which backend runs each node, deterministically.

1. Every selected backend, highest priority first (ties by name), states its claims.
2. A claim is granted if none of its nodes is taken yet, it has at least the backend's
   `min_partition_size` nodes, and it is convex (no path leaves it and comes back, so running it as
   one step cannot create a cycle). Otherwise each of its nodes records why it was declined.
3. Whatever is left runs on the reference backend.
Subgraph bodies (If/Loop/Scan) run inside their parent node's backend: the reference interprets
them.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from ..refimpl.ir import Graph
from .backend import Backend, Claim, Decline
from .reference_backend import REFERENCE

log = logging.getLogger("gossamer.plugins")


class Placement:
    """Where each node runs, the granted partitions, and why the other backends declined.

    (A plain class with a dataclass's init, repr and eq: defining a dataclass costs ~0.5 ms in
    every process that loads a model.)"""

    def __init__(
        self,
        backend_of: dict[str, str] | None = None,
        partitions: list[tuple[Backend, Claim]] | None = None,
        declined: dict[str, dict[str, str]] | None = None,
        excluded: dict[str, str] | None = None,
    ) -> None:
        # node name -> backend name
        self.backend_of: dict[str, str] = {} if backend_of is None else backend_of
        # granted, non-reference
        self.partitions: list[tuple[Backend, Claim]] = [] if partitions is None else partitions
        # node -> backend -> reason
        self.declined: dict[str, dict[str, str]] = {} if declined is None else declined
        # backend -> why it took no part
        self.excluded: dict[str, str] = {} if excluded is None else excluded

    def _fields(self) -> tuple:
        return self.backend_of, self.partitions, self.declined, self.excluded

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def __repr__(self) -> str:
        return (
            f"Placement(backend_of={self.backend_of!r}, partitions={self.partitions!r}, "
            f"declined={self.declined!r}, excluded={self.excluded!r})"
        )

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for backend in self.backend_of.values():
            counts[backend] += 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def plan(
    graph: Graph, backends: list[Backend], excluded: dict[str, str] | None = None
) -> Placement:
    """Places every top-level node of `graph` on one of `backends` (the reference takes the
    rest)."""
    placement = Placement(excluded=dict(excluded or {}))
    names = {n.name for n in graph.nodes}
    successors = _successors(graph)
    ordered = sorted(
        (b for b in backends if b.name != REFERENCE), key=lambda b: (-b.priority, b.name)
    )
    for backend in ordered:
        try:
            answers = list(backend.get_capability(graph))
        except BaseException as err:  # a broken backend is left out, never fatal
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            why = f"get_capability raised {type(err).__name__}: {err}"
            placement.excluded[backend.name] = why
            log.warning("backend %r left out: %s", backend.name, why)
            continue
        mentioned: set[str] = set()
        for answer in answers:
            if isinstance(answer, Decline):
                mentioned.add(answer.node)
                placement.declined.setdefault(answer.node, {})[backend.name] = answer.reason
                continue
            claim = answer
            mentioned.update(claim.nodes)
            reason = _refusal(claim, backend, names, placement, successors)
            if reason:
                for node in claim.nodes:
                    if node in names:
                        placement.declined.setdefault(node, {})[backend.name] = reason
                continue
            for node in claim.nodes:
                placement.backend_of[node] = backend.name
            placement.partitions.append((backend, claim))
        for node in names - mentioned:
            placement.declined.setdefault(node, {}).setdefault(backend.name, "not claimed")
    for node in graph.nodes:
        placement.backend_of.setdefault(node.name, REFERENCE)
    return placement


def _refusal(
    claim: Claim,
    backend: Backend,
    names: set[str],
    placement: Placement,
    successors: dict[str, set[str]],
) -> str | None:
    unknown = [n for n in claim.nodes if n not in names]
    if unknown or not claim.nodes or len(set(claim.nodes)) != len(claim.nodes):
        return f"invalid claim (unknown or repeated nodes {unknown or list(claim.nodes)})"
    taken = {placement.backend_of[n] for n in claim.nodes if n in placement.backend_of}
    if taken:
        return f"overlaps a partition already granted to {', '.join(sorted(taken))}"
    if len(claim.nodes) < backend.min_partition_size:
        return f"partition too small ({len(claim.nodes)} < {backend.min_partition_size} nodes)"
    if len(claim.nodes) > 1 and not _is_convex(set(claim.nodes), successors):
        return "partition is not convex (a path leaves it and re-enters)"
    return None


def _successors(graph: Graph) -> dict[str, set[str]]:
    consumers: dict[str, set[str]] = defaultdict(set)
    for node in graph.nodes:
        reads = {i for i in node.inputs if i}
        for body in node.subgraphs():
            reads |= body.free_names()
        for name in reads:
            consumers[name].add(node.name)
    return {n.name: {c for o in n.outputs if o for c in consumers.get(o, ())} for n in graph.nodes}


def _is_convex(part: set[str], successors: dict[str, set[str]]) -> bool:
    frontier = [s for n in part for s in successors[n] if s not in part]
    seen = set(frontier)
    while frontier:
        node = frontier.pop()
        for s in successors[node]:
            if s in part:
                return False
            if s not in seen:
                seen.add(s)
                frontier.append(s)
    return True
