"""Constant subexpressions the optimiser left in the graph, computed once on the host.

The optimiser's constant folding keeps a node whose result would make the model larger (e.g.
silero's LSTM weights: Slices of one packed constant, concatenated per gate). On the device that
size rule does not apply: the weights are uploaded once anyway. So the backend evaluates every
deterministic node whose inputs are all constants with its reference function (`fold`) when it
decides what to claim (an LSTM whose W is such a value is then a constant-weight LSTM) and again
when it compiles a partition (the value becomes a weight of the plan; no launch, no host work per
run). `gossamer explain` names them ("computed once at compile time").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..refimpl.errors import GossamerError
from ..refimpl.interpreter import Program
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.registry import NONDETERMINISTIC_OPS

MAX_FOLDED_BYTES = 64 * 2**20  # all values of one graph: the device holds them as weights
log = logging.getLogger(__name__)


@dataclass
class Folded:
    values: dict[str, np.ndarray] = field(default_factory=dict)  # value name -> its array
    nodes: list[Node] = field(default_factory=list)  # the nodes computing them, in order


def fold(nodes: list[Node], constants: dict[str, np.ndarray], opsets: dict[str, int]) -> Folded:
    """The values `nodes` (in topological order) compute from `constants` alone."""
    out = Folded()
    known = dict(constants)
    total = 0
    for node in nodes:
        names = [i for i in node.inputs if i]
        if (
            not names
            or node.op_type in NONDETERMINISTIC_OPS
            or node.domain not in ("", "ai.onnx")
            or any(node.subgraphs())
            or any(n not in known for n in names)
        ):
            continue
        values = _evaluate(node, {n: known[n] for n in names}, opsets)
        if values is None:
            continue
        total += sum(v.nbytes for v in values.values())
        if total > MAX_FOLDED_BYTES:
            break
        known.update(values)
        out.values.update(values)
        out.nodes.append(node)
    return out


def _evaluate(
    node: Node, inputs: dict[str, np.ndarray], opsets: dict[str, int]
) -> dict[str, np.ndarray] | None:
    single = Graph(
        nodes=[node],
        inputs=[],
        outputs=[Value(o) for o in node.outputs if o],
        initializers=dict(inputs),
        opsets=opsets,
    )
    try:
        env = Program(single).run({})
    except (GossamerError, ValueError, TypeError, ArithmeticError) as err:
        log.debug("not folding %s: %s", node.name, err)
        return None
    got = {o: env.get(o) for o in node.outputs if o}
    if not all(isinstance(v, np.ndarray) and v.dtype != np.dtype(object) for v in got.values()):
        return None
    return {o: np.array(v) for o, v in got.items()}  # owned: not the program's arena
