"""Bias correction (as MindSpore Lite's post-training quantiser does it): quantisation shifts the
mean of a layer's output, most in depthwise convolutions whose few weights per channel round
coarsely. For every quantised Conv/Gemm with a bias (and MatMul whose bias is the Add after it),
the mean error per output channel of the layer's own quantisation, E[f(Q(x), Q(W)) - f(x, W)]
over the calibration data (x the float input; the error carried in from earlier layers is theirs
to correct), is subtracted from the bias before it is quantised, so the quantised layer is
unbiased on that data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...refimpl.ir import Graph, Node
from ..optimizer.rewrite import default_opset
from .calibration_data import CalibrationData
from .plan import QuantPlan
from .qdq_writer import QdqResult
from .qparams import ACTIVATION_TYPES
from .replay import Replayer
from .runner import Runner, feeds_with_progress


def bias_shifts(
    float_graph: Graph,
    plan: QuantPlan,
    qdq: QdqResult,
    data: CalibrationData,
    act_dtype: str,
    *,
    runner: Runner,
    progress: bool = False,
    batch: int = 8,
) -> dict[str, np.ndarray]:
    """node -> mean output error per channel (quantised - float) of each biased Conv/Gemm."""
    replay = Replayer(
        qdq.params, qdq.weights, ACTIVATION_TYPES[act_dtype][0], default_opset(float_graph)
    )
    targets: dict[str, tuple[str, tuple[int, ...]]] = {
        name: (name, (idx,)) for name, (idx, _) in plan.biases.items()
    }
    # a MatMul whose bias is the Add after it: its error is corrected in that Add's bias
    targets.update({mm: (add, ()) for add, (_, mm) in plan.matmul_bias.items()})
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}

    class Probe:
        def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
            pass

        def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
            if node.name not in targets:
                return
            key, drop = targets[node.name]
            q = replay.call(node, inputs, drop=drop).astype(np.float64)
            f = replay.call(node, inputs, quantized=False, drop=drop).astype(np.float64)
            axis = 1 if node.op_type == "Conv" else q.ndim - 1
            others = tuple(i for i in range(q.ndim) if i != axis)
            sums[key] = sums.get(key, 0.0) + (q - f).sum(axis=others)
            counts[key] = counts.get(key, 0) + q.size // q.shape[axis]

    run = runner(float_graph)
    for feed in feeds_with_progress(data, batch, "bias correction", progress):
        run(feed, [Probe()])
    return {n: (s / counts[n]).astype(np.float32) for n, s in sums.items() if counts[n]}
