"""Human-readable views of the plugin host: the backend list and a placement explanation (per
node, or per op type and backend), filtered by op type, backend or fallback."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..refimpl.errors import InputError
from ..refimpl.ir import Graph
from .manager import availability, plugin_state
from .placement_report import NodePlacement, PlacementReport, placement_report, ranked_reasons
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


@dataclass(frozen=True)
class NodeFilter:
    """Which nodes an explanation shows: op types (bare, or "domain::Op" as `gossamer info` names
    them), the backends that run them, only the fallback nodes; empty means no restriction."""

    ops: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    fallback: bool = False

    def __bool__(self) -> bool:
        return bool(self.ops or self.backends or self.fallback)

    def select(self, report: PlacementReport) -> list[NodePlacement]:
        known = set(plugin_state().backends)
        unknown = [b for b in self.backends if b not in known]
        if unknown:
            raise InputError(f"unknown backend(s) {unknown}; registered: {sorted(known)}")
        fallback = {n.node for n in report.fallback}
        return [
            n
            for n in report.nodes
            if (not self.ops or {n.op_type, n.op_type.rpartition("::")[2]} & set(self.ops))
            and (not self.backends or n.backend in self.backends)
            and (not self.fallback or n.node in fallback)
        ]

    def describe(self) -> str:
        words = [f"--op {o}" for o in self.ops] + [f"--backend {b}" for b in self.backends]
        return " ".join(words + (["--fallback"] if self.fallback else []))


def format_explanation(
    graph: Graph,
    placement: Placement,
    *,
    summary: bool = False,
    only: NodeFilter | None = None,
    report: PlacementReport | None = None,
) -> str:
    """What `gossamer explain` prints: the reference's share and the decline reasons first, then
    per node (or, with `summary`, per op type and backend) the nodes `only` selects."""
    report = report or placement_report(graph, placement)
    only = only or NodeFilter()
    lines = report.summary_lines() + [""]
    shown = only.select(report)
    if only and not shown:
        types = sorted({n.op_type for n in report.nodes})
        lines.append(f"no node matches {only.describe()} (op types here: {', '.join(types)})")
        return "\n".join(lines)
    if summary:
        lines.append(format_op_summary(report, shown))
        lines += [f"backend {b} took no part: {why}" for b, why in sorted(report.excluded.items())]
    else:
        lines.append(format_placement(graph, placement, [n.node for n in shown]))
    if only:
        lines.append(f"(showing {len(shown)} of {len(report.nodes)} nodes: {only.describe()})")
    return "\n".join(lines)


def format_op_summary(report: PlacementReport, nodes: list[NodePlacement]) -> str:
    """Per op type and backend: nodes, share of the estimated FLOPs, why other backends declined."""
    groups: dict[tuple[str, str], list[NodePlacement]] = {}
    for n in nodes:
        groups.setdefault((n.op_type, n.backend), []).append(n)
    rows = []
    for (op, backend), members in groups.items():
        share = report.flops_share(members)
        reasons = "; ".join(
            f"{b}: " + ", ".join(f"{r} ({c})" for r, c in ranked_reasons(counter))
            for b, counter in report.decline_reasons(members).items()
        )
        rows.append((op, backend, len(members), share, reasons))
    rows.sort(key=lambda r: (-(r[3] or 0.0), -r[2], r[0], r[1]))
    width = max([len(r[0]) for r in rows] + [7]) + 2
    bwidth = max([len(r[1]) for r in rows] + [7]) + 2
    lines = [f"{'op type':<{width}}{'backend':<{bwidth}}{'nodes':>5}  {'FLOPs':>7}  declined by"]
    for op, backend, count, share, reasons in rows:
        flops = "?" if share is None else f"{100 * share:.1f} %"
        lines.append(f"{op:<{width}}{backend:<{bwidth}}{count:>5}  {flops:>7}  {reasons}")
    lines += ["", _shares(report, nodes)]
    return "\n".join(lines)


def _shares(report: PlacementReport, nodes: list[NodePlacement]) -> str:
    parts = []
    counts = Counter(n.backend for n in nodes)
    for backend, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        share = report.flops_share([n for n in nodes if n.backend == backend])
        flops = "" if share is None else f" ({100 * share:.0f} % of FLOPs)"
        parts.append(f"{backend}: {count} node(s){flops}")
    return f"summary: {len(nodes)} nodes; " + ", ".join(parts)


def format_placement(graph: Graph, placement: Placement, nodes: list[str] | None = None) -> str:
    """Per node (all, or those named in `nodes`): the backend that runs it and why each other
    backend declined; then a summary of the whole graph."""
    wanted = None if nodes is None else set(nodes)
    width = max([len(n.name) for n in graph.nodes] + [4])
    lines = [f"{'node':<{width}}  {'op':<22} backend          why the others declined"]
    for node in graph.topological_nodes():
        if wanted is not None and node.name not in wanted:
            continue
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
    for backend, claim in placement.partitions:  # what a subgraph backend says it made of a claim
        if claim.note:
            lines.append(f"  {backend.name} partition of {claim.nodes[0]}: {claim.note}")
    for name, reason in sorted(placement.excluded.items()):
        lines.append(f"backend {name} took no part: {reason}")
    return "\n".join(lines)
