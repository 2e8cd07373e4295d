import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._losses import nll
from ._softmax import log_softmax


@reference_op("SoftmaxCrossEntropyLoss", since=12, dtypes=FLOAT)
def softmax_cross_entropy_loss_12(
    scores: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> tuple[np.ndarray, np.ndarray]:
    """log_prob = log_softmax(scores, axis=1); loss = NegativeLogLikelihoodLoss(log_prob, labels)"""
    work = scores.astype(np.float32) if scores.dtype.name in ("float16", "bfloat16") else scores
    log_prob = log_softmax(work, 1) if work.ndim >= 2 else work
    loss = nll(log_prob, labels, weights, reduction, ignore_index)
    return loss.astype(scores.dtype, copy=False), log_prob.astype(scores.dtype, copy=False)
