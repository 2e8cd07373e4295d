import numpy as np

from ..registry import reference_op
from ._rng import generator, output_dtype


@reference_op("RandomNormalLike", since=1)
def random_normal_like_1(
    x: np.ndarray,
    *,
    dtype: int | None = None,
    mean: float = 0.0,
    scale: float = 1.0,
    seed: float | None = None,
) -> np.ndarray:
    """y ~ N(mean, scale²) i.i.d. of x's shape, dtype default x's (numpy draws: match no engine)"""
    out = output_dtype(dtype, x)
    return generator(seed).normal(mean, scale, size=x.shape).astype(out)
