"""What runs where, as data: per node the backend, its estimated FLOPs and why the others declined;
the shares of nodes and FLOPs per backend; and the warning a session gives at load when most of
its work falls back to the reference although a faster backend took part.

FLOPs are `gossamer info`'s estimate (refimpl/model_stats.py). When an input has symbolic dims
the FLOPs are unknown (the few nodes whose estimate survives, such as shape arithmetic, would
mislead), so shares are of nodes; the threshold then counts only the nodes that compute (those
not known to cost 0 FLOPs, such as Reshape or Shape), so a graph of many cheap shape nodes does
not warn.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field

from ..refimpl.errors import PerformanceWarning
from ..refimpl.ir import Graph, Value
from ..refimpl.shape_inference import infer_shapes
from .planner import Placement
from .reference_backend import REFERENCE

# A session warns when the reference's share (of FLOPs, else of computing nodes) exceeds this.
FALLBACK_WARN_SHARE = 0.5
_REASONS_IN_WARNING = 3  # the most frequent decline reasons per backend the warning names


@dataclass(frozen=True)
class NodePlacement:
    """One top-level node: where it runs, its FLOP estimate (None: unknown) and the declines."""

    node: str
    op_type: str  # "domain::Op" outside the default domain, as `gossamer info` writes it
    backend: str
    flops: int | None
    declined: dict[str, str] = field(default_factory=dict)  # other backend -> reason

    @property
    def computes(self) -> bool:
        """False for nodes known to cost nothing (data movement); unknown counts as computing."""
        return self.flops != 0


@dataclass
class PlacementReport:
    """Where a session's nodes run and why; `headline()` is what `explain` and the warning say."""

    graph_name: str
    nodes: list[NodePlacement]
    accelerated: tuple[str, ...]  # backends other than the reference that stated claims
    excluded: dict[str, str] = field(default_factory=dict)  # backend -> why it took no part
    dynamic_inputs: tuple[str, ...] = ()  # inputs with symbolic or unknown dims

    @property
    def total_flops(self) -> int:
        return sum(n.flops or 0 for n in self.nodes)

    @property
    def flops_known(self) -> bool:
        """True when FLOP shares mean something: every input's shape is static and some node has
        a non-zero estimate."""
        return not self.dynamic_inputs and self.total_flops > 0

    @property
    def unestimated(self) -> int:
        """Nodes without a FLOP estimate (unknown shapes, or an op with no formula)."""
        return sum(n.flops is None for n in self.nodes)

    def on(self, backend: str) -> list[NodePlacement]:
        return [n for n in self.nodes if n.backend == backend]

    @property
    def fallback(self) -> list[NodePlacement]:
        """Nodes on the reference although another backend took part (and declined them)."""
        return self.on(REFERENCE) if self.accelerated else []

    def flops_share(self, nodes: list[NodePlacement]) -> float | None:
        """These nodes' share of the estimated FLOPs (None when FLOPs are unknown)."""
        if not self.flops_known:
            return None
        return sum(n.flops or 0 for n in nodes) / self.total_flops

    def reference_share(self) -> float:
        """The reference's share of the FLOPs, or of the computing nodes when FLOPs are unknown."""
        share = self.flops_share(self.on(REFERENCE))
        if share is not None:
            return share
        computing = [n for n in self.nodes if n.computes]
        return sum(n.backend == REFERENCE for n in computing) / max(1, len(computing))

    def decline_reasons(self, nodes: list[NodePlacement] | None = None) -> dict[str, Counter[str]]:
        """backend -> reason -> how many of `nodes` (default: the fallback nodes) it declined so."""
        out: dict[str, Counter[str]] = {}
        for n in self.fallback if nodes is None else nodes:
            for backend, reason in n.declined.items():
                if backend != n.backend:
                    out.setdefault(backend, Counter())[reason] += 1
        return dict(sorted(out.items()))

    def should_warn(self) -> bool:
        """True when a faster backend took part but the reference does most of the work."""
        return bool(self.fallback) and self.reference_share() > FALLBACK_WARN_SHARE

    def share_line(self) -> str:
        """The reference's share of FLOPs and nodes (of nodes alone when FLOPs are unknown)."""
        total = len(self.nodes)
        on_reference = self.on(REFERENCE)
        if not self.accelerated:
            return f"all {total} nodes run on the reference (no other backend took part)"
        counts = f"{len(on_reference)} of {total} nodes"
        if self.flops_known:
            share = 100 * (self.flops_share(on_reference) or 0.0)
            text = f"{share:.0f} % of estimated FLOPs ({counts}) run on the reference"
            if self.unestimated:
                text += f" ({self.unestimated} node(s) without a FLOP estimate)"
            return text
        computing = [n for n in self.nodes if n.computes]
        busy = sum(n.backend == REFERENCE for n in computing)
        why = f"input(s) {', '.join(self.dynamic_inputs)} have symbolic dims"
        return (
            f"{counts} ({busy} of {len(computing)} computing nodes) run on the reference; "
            f"FLOPs unknown ({why if self.dynamic_inputs else 'no node has an estimate'})"
        )

    def headline(self, reasons: int | None = None) -> str:
        """One line: `share_line()` and, per declining backend, its reasons with counts (the
        `reasons` most frequent ones; None: all)."""
        parts = []
        for backend, counter in self.decline_reasons().items():
            ranked = ranked_reasons(counter)
            shown = ranked if reasons is None else ranked[:reasons]
            listed = ", ".join(f"{reason} ({count})" for reason, count in shown)
            if len(ranked) > len(shown):
                rest = sum(c for _, c in ranked[len(shown) :])
                listed += f", {len(ranked) - len(shown)} other reason(s) ({rest})"
            count = sum(counter.values())
            parts.append(f"{backend} declined {count} node{'s' * (count != 1)}: {listed}")
        return self.share_line() + (": " + "; ".join(parts) if parts else "")

    def summary_lines(self) -> list[str]:
        """`headline()` over several lines, one per reason (what `explain` prints first)."""
        lines = [self.share_line()]
        for backend, counter in self.decline_reasons().items():
            lines.append(f"  {backend} declined {sum(counter.values())} of them:")
            lines += [f"    {count:>5}  {reason}" for reason, count in ranked_reasons(counter)]
        return lines


def ranked_reasons(counter: Counter[str]) -> list[tuple[str, int]]:
    """(reason, count), the most frequent first, ties in alphabetical order."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def placement_report(
    graph: Graph, placement: Placement, values: dict[str, Value] | None = None
) -> PlacementReport:
    """The report for `graph` placed by `placement`; `values` are its inferred types (computed
    when not given)."""
    from ..refimpl.model_stats import node_flops_estimate  # not at import: a session rarely asks

    types = infer_shapes(graph) if values is None else values
    nodes = []
    for node in graph.nodes:
        default = node.domain in ("", "ai.onnx")
        nodes.append(
            NodePlacement(
                node=node.name,
                op_type=node.op_type if default else f"{node.domain}::{node.op_type}",
                backend=placement.backend_of.get(node.name, REFERENCE),
                flops=node_flops_estimate(node, lambda name: _static_shape(types.get(name))),
                declined=dict(sorted(placement.declined.get(node.name, {}).items())),
            )
        )
    took_part = {b for reasons in placement.declined.values() for b in reasons}
    took_part |= set(placement.backend_of.values())
    took_part.discard(REFERENCE)
    feeds = [v for v in graph.inputs if v.name not in graph.initializers]
    dynamic = tuple(v.name for v in feeds if v.kind == "tensor" and _static_shape(v) is None)
    return PlacementReport(
        graph.name, nodes, tuple(sorted(took_part)), dict(placement.excluded), dynamic
    )


def warn_if_mostly_reference(
    graph: Graph, placement: Placement, values: dict[str, Value] | None = None
) -> PlacementReport | None:
    """Warns once (PerformanceWarning) when the reference does most of the work although another
    backend took part; returns the report it computed (None: nothing fell back, no report made)."""
    accelerated = any(b != REFERENCE for r in placement.declined.values() for b in r)
    if not accelerated or REFERENCE not in placement.backend_of.values():
        return None  # reference-only sessions and fully accelerated ones cost nothing here
    report = placement_report(graph, placement, values)
    if report.should_warn():
        warnings.warn(
            f"model {graph.name!r}: {report.headline(_REASONS_IN_WARNING)} "
            "(`gossamer explain MODEL --summary` shows them per op type)",
            PerformanceWarning,
            stacklevel=_caller_level(),
        )
    return report


def _static_shape(v: Value | None) -> tuple[int, ...] | None:
    if v is None or v.shape is None or not all(isinstance(d, int) for d in v.shape):
        return None
    return tuple(int(d) for d in v.shape)  # type: ignore[arg-type]


def _caller_level() -> int:
    """The warnings stack level of the first frame outside Gossamer (the code that called load(),
    Session() or a Gossamer tool)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "gossamer":
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    return level
