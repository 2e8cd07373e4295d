import numpy as np

from ..registry import reference_op
from ._rng import generator, output_dtype


@reference_op("RandomUniformLike", since=1)
def random_uniform_like_1(
    x: np.ndarray,
    *,
    dtype: int | None = None,
    high: float = 1.0,
    low: float = 0.0,
    seed: float | None = None,
) -> np.ndarray:
    """y ~ U[low, high) i.i.d. of x's shape, dtype default x's (numpy draws: match no engine)"""
    out = output_dtype(dtype, x)
    return generator(seed).uniform(low, high, size=x.shape).astype(out)
