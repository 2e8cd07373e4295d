"""Human-readable views of the plugin host: the backend list and a placement explanation."""

from __future__ import annotations

from ..refimpl.ir import Graph
from .manager import availability, plugin_state
from .planner import Placement


def format_backends() -> str:
    """One line per registered backend (name first), then plugins that failed to load."""
    state = plugin_state()
    lines = []
    for name, backend in sorted(state.backends.items(), key=lambda kv: (-kv[1].priority, kv[0])):
        reason = availability(backend)
        status = "available" if reason is None else f"unavailable ({reason})"
        try:
            count = backend.op_count()
        except BaseException as err:  # a listing never fails because one backend misbehaves
            if isinstance(err, KeyboardInterrupt):  # all else a plugin raises is contained
                raise
            count = None
        ops = "subgraph claims" if count is None else f"claims {count} op types"
        lines.append(f"{name:<16} priority {backend.priority:>11}  {status}  {ops}")
    for name, reason in sorted(state.failures.items()):
        if name not in state.backends:
            lines.append(f"{name:<16} not loaded: {reason}")
    return "\n".join(lines)


def format_placement(graph: Graph, placement: Placement) -> str:
    """Per node: the backend that runs it and why each other backend declined; then a summary."""
    width = max([len(n.name) for n in graph.nodes] + [4])
    lines = [f"{'node':<{width}}  {'op':<22} backend          why the others declined"]
    for node in graph.topological_nodes():
        runs_on = placement.backend_of[node.name]
        reasons = placement.declined.get(node.name, {})
        why = "; ".join(f"{b}: {r}" for b, r in sorted(reasons.items()) if b != runs_on)
        lines.append(f"{node.name:<{width}}  {node.op_type:<22} {runs_on:<16} {why}")
    lines.append("")
    total = len(graph.nodes)
    summary = ", ".join(
        f"{b}: {c} node(s) ({100 * c / max(1, total):.0f} %)"
        for b, c in placement.summary().items()
    )
    lines.append(f"summary: {total} nodes; {summary}")
    grouped = [(b.name, len(c.nodes)) for b, c in placement.partitions if len(c.nodes) > 1]
    if grouped:
        lines.append("partitions: " + ", ".join(f"{b} ({n} nodes)" for b, n in grouped))
    for name, reason in sorted(placement.excluded.items()):
        lines.append(f"backend {name} took no part: {reason}")
    return "\n".join(lines)
