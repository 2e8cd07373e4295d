"""Bias correction (as MindSpore Lite's post-training quantiser does it): quantisation shifts the
mean of a layer's output, most in depthwise convolutions whose few weights per channel round
coarsely. For every quantised Conv/Gemm with a bias (and MatMul whose bias is the Add after it),
the mean error per output channel of the layer's own quantisation, E[f(Q(x), Q(W)) - f(x, W)]
over the calibration data (x the float input; the error carried in from earlier layers is theirs
to correct), is subtracted from the bias before it is quantised, so the quantised layer is
unbiased on that data. Only where the shift stands out from the noise of the samples, though:
a channel's shift is the mean of one mean per sample, applied where it is at least MIN_T standard
errors from 0 (with a few dozen samples over a small feature map the per-channel means of the
rest are mostly noise, and correcting by noise lowers held-out accuracy: ppocr_mobile_v2_cls).
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

MIN_T = 2.0  # a channel's shift is applied where |mean| >= MIN_T standard errors of the mean


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
    min_t: float | None = None,
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
    squares: dict[str, np.ndarray] = {}
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
            err = np.moveaxis(q - f, axis, -1)
            groups = err.shape[0] if err.ndim > 1 else 1  # the samples of the batch
            means = err.reshape(groups, -1, err.shape[-1]).mean(axis=1)  # (samples, channels)
            sums[key] = sums.get(key, 0.0) + means.sum(axis=0)
            squares[key] = squares.get(key, 0.0) + (means * means).sum(axis=0)
            counts[key] = counts.get(key, 0) + means.shape[0]

    run = runner(float_graph)
    for feed in feeds_with_progress(data, batch, "bias correction", progress):
        run(feed, [Probe()])
    t = MIN_T if min_t is None else min_t
    return {
        n: significant_mean(s, squares[n], counts[n], t).astype(np.float32)
        for n, s in sums.items()
        if counts[n]
    }


def significant_mean(total: np.ndarray, squares: np.ndarray, n: int, min_t: float) -> np.ndarray:
    """The mean of n per-sample means per channel, zero where |t| = |mean| / standard error is
    below min_t (too few samples to tell the shift from noise)."""
    mean = total / n
    if n < 2 or min_t <= 0.0:
        return mean
    var = np.maximum(squares / n - mean * mean, 0.0) * n / (n - 1)
    se = np.sqrt(var / n)
    keep = np.abs(mean) >= min_t * se
    return np.where(keep, mean, 0.0)
