"""--target-cosine: which layers to keep float so that the model output stays close to float.

Each quantised node's own sensitivity is measured in one float run: the node is recomputed on
fake-quantised inputs and weights (what Q -> DQ gives) with its output fake-quantised too, and the
SQNR against its float output is that node's share of the error (low SQNR = sensitive).
`keep_float_until` then keeps the k most sensitive nodes float (or 16-bit), for the smallest k
(found by doubling, then bisection) whose model-output cosine reaches the target;
`choose_precision` tries 16 bits before float.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams
from ..optimizer.rewrite import default_opset
from .calibration_data import CalibrationData
from .evaluate import Agreement
from .plan import QuantPlan
from .qparams import ACTIVATION_TYPES
from .replay import Replayer
from .runner import Runner, feeds_with_progress


def layer_sensitivity(
    float_graph: Graph,
    plan: QuantPlan,
    params: dict[str, QuantParams],
    weights: dict[tuple[str, int], QuantParams],
    act_dtype: str,
    data: CalibrationData,
    *,
    runner: Runner,
    progress: bool = False,
    batch: int = 8,
) -> dict[str, float]:
    """node -> SQNR (dB) of the node quantised alone, on float inputs."""
    replay = Replayer(params, weights, ACTIVATION_TYPES[act_dtype][0], default_opset(float_graph))
    quantised = set(plan.nodes)
    post_of = {node: post for node, (_, post) in plan.folded.items()}
    stats = {n: Agreement() for n in quantised}
    pending: dict[str, tuple[str, np.ndarray]] = {}  # folded activation output -> (node, value)

    class Probe:
        def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
            pass

        def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
            out = node.outputs[0] if node.outputs else ""
            if out in pending:  # the Relu/Clip a quantised node's output range stands for
                name, q = pending.pop(out)
                stats[name].add(outputs[0], replay.fake(out, q))
            if node.name not in quantised:
                return
            q = replay.call(node, inputs)
            if node.name in post_of:
                pending[post_of[node.name]] = (node.name, q)
            else:
                stats[node.name].add(outputs[0], replay.fake(out, q))

    run = runner(float_graph)
    for feed in feeds_with_progress(data, batch, "layer sensitivity", progress):
        run(feed, [Probe()])
    return {n: s.sqnr_db for n, s in stats.items() if s.ff or s.qq}


def keep_float_until(
    ranking: list[str], target: float, cosine_with_float: Callable[[list[str]], float]
) -> tuple[list[str], float]:
    """The shortest prefix of `ranking` (most sensitive first) whose nodes kept float give an
    output cosine >= target, and that cosine (assumes more float nodes never hurt much)."""
    best = cosine_with_float([])
    if best >= target:
        return [], best
    low, high, k = 0, None, 1
    scores: dict[int, float] = {0: best}
    while high is None:
        k = min(k, len(ranking))
        scores[k] = cosine_with_float(ranking[:k])
        if scores[k] >= target or k == len(ranking):
            high = k
        else:
            low, k = k, k * 2
    while high - low > 1:
        mid = (low + high) // 2
        scores[mid] = cosine_with_float(ranking[:mid])
        if scores[mid] >= target:
            high = mid
        else:
            low = mid
    return ranking[:high], scores[high]


def choose_precision(
    ranking: list[str],
    target: float,
    cosine_with: Callable[[list[str], list[str]], float],
    *,
    sixteen_bit: bool = True,
) -> tuple[list[str], list[str]]:
    """(16-bit nodes, float nodes) for --target-cosine; `cosine_with(wide, kept)` scores a
    candidate. The shortest prefix of `ranking` at 16 bits that reaches the target; where all of
    it at 16 bits does not, every node 16-bit but the shortest prefix kept float that does.
    Without sixteen_bit: the shortest prefix kept float, the rest 8-bit."""
    if not sixteen_bit:
        return [], keep_float_until(ranking, target, lambda k: cosine_with([], k))[0]
    wide, reached = keep_float_until(ranking, target, lambda w: cosine_with(w, []))
    if reached >= target:
        return wide, []
    kept, _ = keep_float_until(ranking, target, lambda k: cosine_with(ranking, k))
    return list(ranking), kept
