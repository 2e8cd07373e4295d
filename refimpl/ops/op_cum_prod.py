import numpy as np

from ..dtypes import NUMERIC
from ..registry import reference_op
from ._cumulative import cumulate


@reference_op("CumProd", since=26, dtypes=NUMERIC)
def cum_prod_26(
    x: np.ndarray, axis: np.ndarray, *, exclusive: int = 0, reverse: int = 0
) -> np.ndarray:
    """y[i] = product of x[j] along axis for j <= i (j < i if exclusive; from the end if reverse)"""
    return cumulate(x, axis, np.multiply, 1, exclusive, reverse)
