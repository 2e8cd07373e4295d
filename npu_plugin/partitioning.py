"""From Vela's per-operator verdicts to the delegate's claims: maximal convex NPU partitions.

Vela decides which operators of a .tflite model its NPU runs (its own constraint checks; an
operator it leaves on the CPU stays a TFLite builtin in its output, with the reason it printed).
Our graph's nodes are matched to those operators by tensor name: a node takes the verdict of the
operator that produces one of its outputs; a node whose outputs the model does not name (one of
several nodes an operator was imported as, e.g. STRIDED_SLICE -> Slice + Reshape) takes the verdict
of the node it feeds.

The NPU nodes are then grouped: two NPU nodes joined by an edge share a partition when as many
"tainted" CPU nodes (CPU nodes with an NPU node upstream) lie before each of them. A path that
leaves such a group and comes back must pass through a tainted CPU node, so every group is convex
(the planner's condition); untainted CPU nodes (reading only model inputs, such as the reads of a
streaming model's state) split nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..converter.tflite.reader import read_tflite
from ..plugins import Claim, Decline, Graph, Node

ETHOS_U_CUSTOM = "ethos-u"


@dataclass(frozen=True)
class Verdict:
    npu: bool
    reason: str = ""  # Vela's reason for a CPU operator


def operator_verdicts(
    checked: bytes, compiled: bytes, reasons: dict[str, str], subgraph: int = 0
) -> dict[str, Verdict]:
    """Output tensor name -> Vela's verdict, for every operator of `checked`'s subgraph, read from
    Vela's output `compiled` (its CPU operators stay builtins) and its printed `reasons`."""
    source = read_tflite(checked).subgraphs[subgraph]
    out = read_tflite(compiled).subgraphs[subgraph]
    on_cpu: set[tuple[str, tuple[str, ...]]] = set()
    cpu_outputs: set[str] = set()
    for op in out.operators:
        if op.custom and op.opcode == ETHOS_U_CUSTOM:
            continue
        names = tuple(out.tensors[i].name for i in op.outputs if i >= 0)
        cpu_outputs.update(names)
        on_cpu.add((op.opcode, tuple(out.tensors[i].name for i in op.inputs if i >= 0)))
    verdicts: dict[str, Verdict] = {}
    for op in source.operators:
        outputs = [source.tensors[i].name for i in op.outputs if i >= 0]
        inputs = tuple(source.tensors[i].name for i in op.inputs if i >= 0)
        cpu = any(o in cpu_outputs for o in outputs) or (
            not outputs and (op.opcode, inputs) in on_cpu
        )
        for name in outputs:
            why = reasons.get(name) or "Vela left it on the CPU (no constraint reason printed)"
            verdicts[name] = Verdict(False, f"Vela: {op.opcode}: {why}") if cpu else Verdict(True)
    return verdicts


def node_verdicts(graph: Graph, verdicts: dict[str, Verdict]) -> dict[str, Verdict | None]:
    """Each node's verdict (None: no operator of the checked model accounts for it)."""
    consumers: dict[str, list[Node]] = defaultdict(list)
    for node in graph.nodes:
        for name in node.inputs:
            if name:
                consumers[name].append(node)
    found: dict[str, Verdict | None] = {}

    def verdict_of(node: Node, seen: frozenset[str]) -> Verdict | None:
        if node.name in found:
            return found[node.name]
        direct = [verdicts[o] for o in node.outputs if o and o in verdicts]
        if direct:
            return _worst(direct)
        later = [
            verdict_of(c, seen | {node.name})
            for o in node.outputs
            if o
            for c in consumers.get(o, ())
            if c.name not in seen
        ]
        known = [v for v in later if v is not None]
        return _worst(known) if known and len(known) == len(later) else None

    for node in graph.nodes:
        found[node.name] = verdict_of(node, frozenset())
    return found


def _worst(verdicts: list[Verdict]) -> Verdict:
    cpu = [v for v in verdicts if not v.npu]
    return cpu[0] if cpu else verdicts[0]


def claims(graph: Graph, on_npu: set[str]) -> list[tuple[str, ...]]:
    """The NPU nodes grouped into connected, convex partitions (node names in graph order)."""
    order = graph.topological_nodes()
    producer = {o: n.name for n in order for o in n.outputs if o}
    preds = {n.name: {producer[i] for i in n.inputs if i in producer} for n in order}
    tainted: dict[str, bool] = {}  # an NPU node lies upstream
    depth: dict[str, int] = {}  # tainted CPU nodes on the deepest path from the inputs
    for node in order:
        name, ps = node.name, preds[node.name]
        tainted[name] = any(p in on_npu or tainted[p] for p in ps)
        depth[name] = max(
            (depth[p] + (1 if p not in on_npu and tainted[p] else 0) for p in ps), default=0
        )
    parent = {n: n for n in on_npu}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for node in order:
        if node.name not in on_npu:
            continue
        for p in preds[node.name]:
            if p in on_npu and depth[p] == depth[node.name]:
                parent[root(p)] = root(node.name)
    groups: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes:
        if node.name in on_npu:
            groups[root(node.name)].append(node.name)
    return [tuple(g) for g in groups.values()]


def capability(
    graph: Graph, verdicts: dict[str, Verdict | None], target: str
) -> list[Claim | Decline]:
    """Claims for the NPU partitions of `graph`; a Decline with Vela's reason for every other
    node that `verdicts` covers (nodes it does not cover were declined already, but they still
    count as CPU nodes for the partitions' convexity)."""
    answers: list[Claim | Decline] = []
    on_npu = set()
    for node in graph.nodes:
        if node.name not in verdicts:
            continue
        verdict = verdicts[node.name]
        if verdict is None:
            answers.append(Decline(node.name, "no operator of the exported TFLite model for it"))
        elif not verdict.npu:
            answers.append(Decline(node.name, verdict.reason))
        else:
            on_npu.add(node.name)
    for group in claims(graph, on_npu):
        answers.append(Claim(group, note=f"Vela maps {len(group)} node(s) to {target}"))
    return answers
