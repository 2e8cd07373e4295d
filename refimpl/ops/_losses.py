"""The negative log-likelihood shared by NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss."""

from __future__ import annotations

import numpy as np

from ..errors import OpArgumentError

REDUCTIONS = ("none", "sum", "mean")


def nll(
    log_prob: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    reduction: str,
    ignore_index: int | None,
) -> np.ndarray:
    """loss[n, d…] = -w[t] · log_prob[n, t, d…] with t = target[n, d…]; ignored targets weigh 0.

    "mean" divides the summed loss by the summed weights of the targets that are not ignored.
    """
    if reduction not in REDUCTIONS:
        raise OpArgumentError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if log_prob.ndim < 2:
        raise OpArgumentError(f"the input must be [N, C, d1, …], got shape {list(log_prob.shape)}")
    expected = (log_prob.shape[0], *log_prob.shape[2:])
    if target.shape != expected:
        raise OpArgumentError(f"target shape {list(target.shape)} must be {list(expected)}")
    classes = log_prob.shape[1]
    t = target.astype(np.int64)
    ignored = t == ignore_index if ignore_index is not None else np.zeros(t.shape, dtype=bool)
    bad = ~ignored & ((t < 0) | (t >= classes))
    if bad.any():
        raise OpArgumentError(f"target {int(t[bad][0])} is outside [0, {classes})")
    safe = np.where(ignored, 0, t)
    picked = np.take_along_axis(log_prob, safe[:, None], axis=1)[:, 0]
    w = np.ones(classes, log_prob.dtype) if weight is None else weight.astype(log_prob.dtype)
    w = np.where(ignored, log_prob.dtype.type(0), w[safe])
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum(dtype=log_prob.dtype))
    return np.asarray(loss.sum(dtype=log_prob.dtype) / w.sum(dtype=log_prob.dtype))
