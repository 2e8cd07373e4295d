"""`gossamer compare`: run a model on two sides, compare every intermediate, name the first
divergence.

Side A is Gossamer on the chosen backends (default: every available one). Side B, the trusted side,
is either the reference alone (a Session with `backends=[]`, which keeps only the reference) or
onnxruntime, with every intermediate value exposed as an extra graph output and graph optimisations
off (so each value is what its own node computed). Values are matched by name and walked in the
order side B's nodes run; a value only one side has (inside a fused partition on side A, fused
away by the optimiser, inside an ONNX function on the onnxruntime side) is skipped and counted.
Side B always runs the graph as written; side A runs what `gossamer.load` runs at `optimize`
(session.prepared_for_running). For a .tflite
model side B can also be LiteRT (`tools/litert_intermediates.py`): every tensor a TFLite operator
writes is matched with the imported graph's value of the same name; the values the importer
synthesizes inside an operator (layout transposes, pre-activation results) are skipped.

"Outside tolerance" is the definition the conformance suite uses (refimpl/mismatch.py): an element
mismatches when |a - b| > max(atol, rtol * median |b|) + rtol * |b|, or NaN/inf disagree, or an
integer differs. The first node with an output outside tolerance is the first divergence. It is
then replayed alone on side A's backend, fed side B's inputs: if it agrees there, the difference
was carried in by its inputs (float rounding accumulated upstream, amplified here), not made by
the node. Its inputs are saved with a repro script (see `tools/divergence_repro.py`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl import model_format
from ..refimpl.errors import InputError
from ..refimpl.interpreter import describe_value
from ..refimpl.ir import PARTITION_DOMAIN, Graph, Node
from ..session import DEFAULT_OPTIMIZE, ModelSource, Session, prepared_for_running, read_model
from .compare_report import comparison_json, format_comparison
from .tensor_diff import TensorDiff, diff_values

OPTIMIZED = "gossamer.optimize"  # graph metadata the optimiser writes (its report, with the level)
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-4
AGAINST = ("reference", "onnxruntime", "litert")


@dataclass
class ValueDiff:
    """One value both sides produced: who produced it, where side A ran it, and how far apart."""

    index: int  # position of the producing node in side B's execution order
    node: str
    op_type: str
    value: str
    ran_on: str  # side A's backend (and partition, if the value left a fused partition)
    type_a: str
    type_b: str
    diff: TensorDiff


@dataclass
class Comparison:
    """The outcome of `compare_model`."""

    model: str
    side_a: str
    side_b: str
    rtol: float
    atol: float
    values: list[ValueDiff] = field(default_factory=list)  # side B's execution order
    skipped: list[str] = field(default_factory=list)  # values only one side exposes
    first: ValueDiff | None = None  # the first value outside tolerance
    input_notes: list[str] = field(default_factory=list)  # the divergent node's inputs, A vs B
    local: TensorDiff | None = None  # the divergent node replayed alone on side B's inputs
    local_note: str = ""  # why it was not replayed
    repro_dir: str | None = None
    repro_note: str = ""

    @property
    def agrees(self) -> bool:
        return self.first is None

    def worst(self, k: int) -> list[ValueDiff]:
        """The k nodes closest to (or furthest beyond) their tolerance: largest error/tolerance
        (each node by its worst output; a shape/dtype problem or NaN/inf disagreement first)."""
        by_node: dict[str, ValueDiff] = {}
        for v in self.values:
            best = by_node.get(v.node)
            if best is None or _rank(v) > _rank(best):
                by_node[v.node] = v
        return sorted(by_node.values(), key=_rank, reverse=True)[: max(0, k)]

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        def row(v: ValueDiff) -> dict[str, Any]:
            return {
                "index": v.index,
                "node": v.node,
                "op_type": v.op_type,
                "value": v.value,
                "ran_on": v.ran_on,
                "type_a": v.type_a,
                "type_b": v.type_b,
                "diverges": v.diff.diverges,
                **v.diff.as_dict(),
            }

        return {
            "model": self.model,
            "side_a": self.side_a,
            "side_b": self.side_b,
            "rtol": self.rtol,
            "atol": self.atol,
            "agrees": self.agrees,
            "compared": len(self.values),
            "divergent_values": sum(v.diff.diverges for v in self.values),
            "skipped": self.skipped,
            "first_divergence": row(self.first) if self.first else None,
            "input_notes": self.input_notes,
            "replayed_on_side_b_inputs": (
                {"diverges": self.local.diverges, **self.local.as_dict()} if self.local else None
            ),
            "replay_note": self.local_note,
            "worst": [row(v) for v in self.worst(top)],
            "repro_dir": self.repro_dir,
            "repro_note": self.repro_note,
            "values": [row(v) for v in self.values],
        }

    def format(self, top: int = 10) -> str:
        return format_comparison(self, top)


class _Recorder:
    """An observer keeping every top-level node's outputs (copied: a buggy kernel may later write
    into a value it reads). Nodes inside If/Loop/Scan bodies run between their parent's
    before_node and after_node, so depth tells them apart."""

    def __init__(self, copy: bool) -> None:
        self.copy = copy
        self.depth = 0
        self.values: dict[str, Any] = {}
        self.producer: dict[str, Node] = {}
        self.order: list[Node] = []

    def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
        self.depth += 1

    def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        self.depth -= 1
        if self.depth:
            return
        self.order.append(node)
        for name, value in zip(node.outputs, outputs):
            if name:
                self.values[name] = _copy(value) if self.copy else value
                self.producer[name] = node


def compare_model(
    model: ModelSource,
    feeds: dict[str, Any],
    *,
    backends: Sequence[str] | None = None,
    against: str = "reference",
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    repro_dir: str | Path | None = None,
    session: Session | None = None,
    optimize: int | None = None,
) -> Comparison:
    """Runs `model` on side A (Gossamer on `backends`, the graph optimised at level `optimize`,
    default load()'s) and side B (`against`, the graph as written), compares every value both
    sides expose, and (if `repro_dir` is given and they diverge) writes a repro there.

    `session`: an already loaded side-A Session of the same model (saves loading it twice; its
    own optimisation level counts, `optimize` is not used).
    """
    if against not in AGAINST:
        raise InputError(f"--against must be one of {', '.join(AGAINST)}, got {against!r}")
    if not (rtol >= 0 and atol >= 0):
        raise InputError(f"tolerances must be >= 0, got rtol {rtol} atol {atol}")
    if optimize is not None and optimize not in range(4):
        raise InputError(f"optimize must be a level 0..3, got {optimize!r}")
    if against == "litert":  # before any run: a non-TFLite model or no LiteRT is one clear error
        from .litert_intermediates import check_litert

        check_litert(model)
    if session is None:
        graph_b = read_model(model)
        sess_a = _side_a(graph_b, backends, DEFAULT_OPTIMIZE if optimize is None else optimize)
    else:
        sess_a = session
        graph_b = read_model(model) if OPTIMIZED in session.graph.metadata else session.graph
    graph = sess_a.graph
    rec_a = _Recorder(copy=True)
    sess_a.run(None, feeds, observers=[rec_a])
    opcodes: dict[str, str] = {}  # LiteRT: the TFLite operator that wrote each value
    if against == "reference":
        rec_b = _Recorder(copy=False)
        Session(graph_b, backends=[]).run(None, feeds, observers=[rec_b])
        order_b, values_b = rec_b.order, rec_b.values
    elif against == "litert":
        from .litert_intermediates import run_litert

        order_b = graph_b.topological_nodes()
        values_b, opcodes = run_litert(model, feeds)
    else:
        from .ort_intermediates import run_onnxruntime

        order_b = graph_b.topological_nodes()
        values_b = run_onnxruntime(model, feeds)
    used = sess_a.placement.summary()
    result = Comparison(
        model=_model_label(model),
        side_a=f"gossamer -O{_level(graph)} [" + ", ".join(used) + "]",
        side_b=against,
        rtol=rtol,
        atol=atol,
    )
    for index, node in enumerate(order_b):
        for name in node.outputs:
            if not name:
                continue
            if name not in values_b or name not in rec_a.values:
                result.skipped.append(name)
                continue
            a, b = rec_a.values[name], values_b[name]
            ran_on = _ran_on(sess_a, node, rec_a.producer[name])
            if against == "litert":  # the row stands for the TFLite operator that wrote `name`
                ran_on = _operator_ran_on(sess_a, graph_b, node, values_b) or ran_on
            row = ValueDiff(
                index=index,
                node=node.name,
                op_type=opcodes.get(name, node.op_type) if against == "litert" else node.op_type,
                value=name,
                ran_on=ran_on,
                type_a=describe_value(a),
                type_b=describe_value(b),
                diff=diff_values(a, b, rtol=rtol, atol=atol),
            )
            result.values.append(row)
            if result.first is None and row.diff.diverges:
                result.first = row
    if result.first is not None:
        first_node = next(n for n in order_b if n.name == result.first.node)
        env_a = {**graph.initializers, **feeds, **rec_a.values}
        env_b = {**graph_b.initializers, **feeds, **values_b}
        producer = rec_a.producer[result.first.value]
        # a fused partition's boundary is what side A actually fed: describe those inputs
        reads = list(producer.inputs) if producer.domain == PARTITION_DOMAIN else None
        result.input_notes = _input_notes(reads or node_reads(first_node), env_a, env_b, rtol, atol)
        from .divergence_repro import replay_locally, write_repro

        group = []
        if against == "litert":
            group = _operator_group(sess_a, graph_b, first_node, values_b)
        if len(group) > 1:  # one TFLite operator, several nodes: LiteRT sees only its boundary
            from .litert_intermediates import replay_operator

            reads = list(dict.fromkeys(r for n in group for r in node_reads(n)))
            inner = {o for n in group for o in n.outputs}
            reads = [r for r in reads if r not in inner and r not in graph.initializers]
            result.input_notes = _input_notes(reads, env_a, env_b, rtol, atol)
            result.local, result.local_note = replay_operator(
                graph, sess_a, group, [result.first.value], env_b, rtol=rtol, atol=atol
            )
            result.repro_note = (
                f"not written: the TFLite operator became {len(group)} nodes "
                f"({', '.join(n.op_type for n in group)}); the repro covers single nodes"
            )
        else:
            result.local, result.local_note = replay_locally(
                graph, sess_a, first_node, producer, env_b, rtol=rtol, atol=atol
            )
        if repro_dir is not None and len(group) <= 1:
            result.repro_dir, result.repro_note = write_repro(
                Path(repro_dir), graph, sess_a, first_node, producer, env_a, env_b, result, model
            )
    return result


def _operator_group(sess: Session, graph_b: Graph, node: Node, values_b: dict) -> list[Node]:
    """The nodes of the TFLite operator whose output `node` writes, when side A ran each of them
    as a node of its own (at -O0; [] when the optimiser fused or removed any)."""
    from .litert_intermediates import operator_nodes

    group = operator_nodes(graph_b, node, values_b)
    backend_of = sess.placement.backend_of
    return group if all(n.name in backend_of for n in group) else []


def _operator_ran_on(sess: Session, graph_b: Graph, node: Node, values_b: dict) -> str:
    """The backends side A ran a TFLite operator's nodes on ("" when they were fused)."""
    group = _operator_group(sess, graph_b, node, values_b)
    backend_of = sess.placement.backend_of
    return "+".join(dict.fromkeys(backend_of[n.name] for n in group))


def _level(graph: Graph) -> int:
    """The optimisation level a graph was optimised at (0: as written)."""
    try:
        return int(json.loads(graph.metadata[OPTIMIZED])["level"])
    except (KeyError, ValueError, TypeError):
        return 0


def _side_a(graph: Graph, backends: Sequence[str] | None, optimize: int) -> Session:
    """The graph gossamer.load would run (blocked-layout values have their own names and are
    skipped; the values at the ends of a blocked chain keep theirs and are compared)."""
    return Session(prepared_for_running(graph, optimize, backends), backends=backends)


def _ran_on(sess: Session, node: Node, producer: Node) -> str:
    backend_of = sess.placement.backend_of
    backend = backend_of.get(node.name) or backend_of.get(producer.name, "?")
    if producer.domain == PARTITION_DOMAIN:
        return f"{backend} ({producer.name})"
    return backend


def _input_notes(
    reads: list[str], env_a: dict[str, Any], env_b: dict[str, Any], rtol: float, atol: float
) -> list[str]:
    notes = []
    for name in reads:
        b = env_b.get(name)
        if name not in env_a:
            notes.append(f"{name}: {describe_value(b)} (not visible on side A)")
            continue
        d = diff_values(env_a[name], b, rtol=rtol, atol=atol)
        if d.max_abs == 0 and not d.problem and not d.nonfinite:
            verdict = "identical on both sides"
        else:
            within = "beyond" if d.diverges else "within"
            verdict = (
                f"differs {within} tolerance: max-abs {d.max_abs:.3g}, max-rel {d.max_rel:.3g}"
            )
            verdict += f" {d.problem}" if d.problem else ""
        notes.append(f"{name}: {describe_value(b)} {verdict}")
    return notes


def node_reads(node: Node) -> list[str]:
    """The names a node reads: its inputs, then what its bodies read from the enclosing scope."""
    reads = [i for i in node.inputs if i]
    for name in sorted({n for body in node.subgraphs() for n in body.free_names()}):
        if name not in reads:
            reads.append(name)
    return list(dict.fromkeys(reads))


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _rank(v: ValueDiff) -> tuple[int, float, float]:
    d = v.diff
    rel = d.max_rel if d.max_rel == d.max_rel else float("inf")
    return (int(bool(d.problem) or d.nonfinite > 0), d.tol_ratio, rel)


def _model_label(model: ModelSource) -> str:
    if isinstance(model, Graph):
        return model.name
    if isinstance(model, (bytes, bytearray, memoryview)):
        is_gsm = bytes(model[: len(model_format.MAGIC)]) == model_format.MAGIC
        is_tflite = bytes(model[4:8]) == b"TFL3"
        return f"<{'gsm' if is_gsm else 'tflite' if is_tflite else 'onnx'} bytes>"
    return str(model)


__all__ = ["Comparison", "ValueDiff", "compare_model", "comparison_json", "format_comparison"]
