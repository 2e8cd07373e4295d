"""What an optimisation run changed: per pass, how many rewrites and on which nodes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from ...refimpl.ir import Graph


@dataclass
class PassResult:
    """One pass's rewrites (each a short description naming the nodes involved)."""

    name: str
    level: int
    changes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class OptimizationReport:
    level: int
    nodes_before: int = 0
    nodes_after: int = 0
    ops_before: Counter = field(default_factory=Counter)
    ops_after: Counter = field(default_factory=Counter)
    passes: list[PassResult] = field(default_factory=list)

    def changed(self, name: str) -> int:
        """Rewrites made by the pass called `name` (all its runs together)."""
        return sum(len(p.changes) for p in self.passes if p.name == name)

    def summary(self) -> dict[str, int]:
        """Pass name -> number of rewrites, for passes that changed something."""
        counts: Counter = Counter()
        for p in self.passes:
            counts[p.name] += len(p.changes)
        return {name: n for name, n in counts.items() if n}

    def to_json(self) -> str:
        return json.dumps(
            {
                "level": self.level,
                "nodes_before": self.nodes_before,
                "nodes_after": self.nodes_after,
                "passes": self.summary(),
            },
            sort_keys=True,
        )

    def format(self, *, details: int = 5) -> str:
        """A human-readable table: one line per pass run, then up to `details` examples."""
        lines = [
            f"optimisation level -O{self.level}: {self.nodes_before} -> {self.nodes_after} nodes"
        ]
        for p in self.passes:
            lines.append(
                f"  [O{p.level}] {p.name:<32s} {len(p.changes):5d} change(s)"
                f"  ({p.seconds * 1000:.0f} ms)"
            )
            for change in p.changes[:details]:
                lines.append(f"        {change}")
            if len(p.changes) > details:
                lines.append(f"        ... and {len(p.changes) - details} more")
        added = self.ops_after - self.ops_before
        removed = self.ops_before - self.ops_after
        if added or removed:
            lines.append("  op types: " + ", ".join(
                [f"-{n} {op}" for op, n in sorted(removed.items())]
                + [f"+{n} {op}" for op, n in sorted(added.items())]))  # fmt: skip
        return "\n".join(lines)


def op_histogram(graph: Graph) -> Counter:
    return Counter(
        (f"{n.domain}::" if n.domain not in ("", "ai.onnx") else "") + n.op_type
        for n in graph.nodes
    )
