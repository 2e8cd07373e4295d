import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._losses import nll


@reference_op("NegativeLogLikelihoodLoss", since=12, dtypes=FLOAT)
def negative_log_likelihood_loss_12(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    ignore_index: int | None = None,
    reduction: str = "mean",
) -> np.ndarray:
    """loss = reduce(-weight[t] · input[n, t, d…]) over the targets t that are not ignore_index"""
    work = input.astype(np.float32) if input.dtype.name in ("float16", "bfloat16") else input
    return nll(work, target, weight, reduction, ignore_index).astype(input.dtype, copy=False)
