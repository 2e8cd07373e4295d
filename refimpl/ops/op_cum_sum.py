import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._cumulative import cumulate


@reference_op("CumSum", since=11, dtypes=NUMERIC)
def cum_sum_11(
    x: np.ndarray, axis: np.ndarray, *, exclusive: int = 0, reverse: int = 0
) -> np.ndarray:
    """y[i] = sum of x[j] along axis for j <= i (j < i if exclusive; from the end if reverse)"""
    return cumulate(x, axis, np.add, 0, exclusive, reverse)
