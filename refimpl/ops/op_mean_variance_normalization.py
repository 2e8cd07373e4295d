import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._precision import normalize_axis, widen


@reference_op("MeanVarianceNormalization", since=9, dtypes=FLOAT)
def mean_variance_normalization_9(
    x: np.ndarray,
    *,
    axes: list[int] = (0, 2, 3),  # type: ignore[assignment]
) -> np.ndarray:
    """y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9), moments over `axes`"""
    ax = tuple(sorted({normalize_axis(a, x.ndim, "axes entry") for a in axes}))
    xw = widen(x)
    mean = np.mean(xw, axis=ax, keepdims=True)
    var = np.maximum(np.mean(xw * xw, axis=ax, keepdims=True) - mean * mean, 0)
    y = (xw - mean) / (np.sqrt(var) + xw.dtype.type(1e-9))
    return y.astype(x.dtype, copy=False)
