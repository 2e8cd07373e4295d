import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._variadic import fold


def _mean(data: tuple[np.ndarray, ...], broadcast: bool) -> np.ndarray:
    total = fold("Mean", np.add, data, broadcast=broadcast)
    return (total / total.dtype.type(len(data))).astype(total.dtype, copy=False)


@reference_op("Mean", since=6, dtypes=FLOAT)
def mean_6(*data: np.ndarray) -> np.ndarray:
    """y = (d0 + ... + dn) / (n + 1); equal shapes only"""
    return _mean(data, broadcast=False)


@reference_op("Mean", since=8, dtypes=FLOAT)
def mean_8(*data: np.ndarray) -> np.ndarray:
    """y = (d0 + ... + dn) / (n + 1); numpy broadcasting"""
    return _mean(data, broadcast=True)
