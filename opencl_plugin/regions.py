"""The regions the backend claims: connected and convex sets of the nodes it runs, as few as
convexity allows (each region is a partition: one host call and one device synchronisation per
run, so a small model split in ten pays ten of them).

In topological order a node joins the regions of its producers, merging them, where no path
leaves one of them and reaches the node (or another of them) through a node outside: that would
make the merged region non-convex. Nodes computing constants (constant_nodes.py) are attached
afterwards to the region that reads them, so a constant subexpression costs nothing per run.
"""

from __future__ import annotations

from ..refimpl.ir import Graph, Node


class _Sets:
    """Union-find over region ids."""

    def __init__(self) -> None:
        self.parent: list[int] = []

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, r: int) -> int:
        while self.parent[r] != r:
            self.parent[r] = self.parent[self.parent[r]]
            r = self.parent[r]
        return r


def convex_regions(graph: Graph, ok: set[str]) -> list[list[Node]]:
    """Regions of the nodes named in `ok`, each connected and convex, in topological order."""
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    sets = _Sets()
    region: dict[str, int] = {}
    # regions a path from which leaves them before reaching this node (raw ids: find() them)
    reach: dict[str, set[int]] = {}
    reached: dict[int, set[int]] = {}  # root -> regions reaching one of its nodes from outside
    for node in graph.nodes:
        preds = [producer[i] for i in node.inputs if i in producer]
        for body in node.subgraphs():
            preds += [producer[i] for i in body.free_names() if i in producer]
        mine = None
        if node.name in ok:
            bad = {sets.find(r) for q in preds for r in reach[q.name]}
            merged: list[int] = []
            outside: set[int] = set()  # regions reaching one already merged
            for p in preds:
                r = region.get(p.name)
                r = sets.find(r) if r is not None else None
                if r is None or r in bad or r in merged:
                    continue
                theirs = {sets.find(x) for x in reached[r]}
                if r in outside or theirs & set(merged):
                    continue
                merged.append(r)
                outside |= theirs
            if merged:
                mine = merged[0]
                for r in merged[1:]:
                    sets.parent[r] = mine
                    reached[mine] |= reached.pop(r)
            else:
                mine = sets.new()
                reached[mine] = set()
            region[node.name] = mine
        r_set: set[int] = set()
        for q in preds:
            r_set |= reach[q.name]
            rq = region.get(q.name)
            if rq is not None and sets.find(rq) != mine:
                r_set.add(rq)
        reach[node.name] = r_set
        if mine is not None:
            reached[mine] |= r_set
    members: dict[int, list[Node]] = {}
    for node in graph.nodes:
        if node.name in region:
            members.setdefault(sets.find(region[node.name]), []).append(node)
    return list(members.values())


def attach_constants(
    graph: Graph, regions: list[list[Node]], constant: list[Node]
) -> tuple[list[list[Node]], list[Node]]:
    """`regions` with each node of `constant` (nodes computing constants, topological order)
    added to the one region that reads all its outputs, and the nodes no single region reads."""
    index = {n.name: i for i, r in enumerate(regions) for n in r}
    readers: dict[str, list[str]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            if name:
                readers.setdefault(name, []).append(node.name)
        for body in node.subgraphs():
            for name in body.free_names():
                readers.setdefault(name, []).append(node.name)
    outputs = {v.name for v in graph.outputs}
    left: list[Node] = []
    for node in reversed(constant):
        names = [o for o in node.outputs if o]
        owners = {index.get(r) for o in names for r in readers.get(o, [])}
        if len(owners) == 1 and None not in owners and not outputs.intersection(names):
            index[node.name] = owners.pop()  # type: ignore[assignment]
        else:
            left.append(node)
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    grown: list[list[Node]] = [list(r) for r in regions]
    for node in constant:
        if node.name in index:
            grown[index[node.name]].append(node)
    for r in grown:
        r.sort(key=lambda n: order[n.name])
    return grown, left[::-1]
