import numpy as np

from ..registry import reference_op
from ._rng import check_shape, generator, output_dtype


@reference_op("RandomUniform", since=1)
def random_uniform_1(
    *,
    shape: list[int],
    dtype: int = 1,
    high: float = 1.0,
    low: float = 0.0,
    seed: float | None = None,
) -> np.ndarray:
    """y ~ U[low, high) i.i.d. of the given shape (numpy draws: values match no other engine)"""
    draws = generator(seed).uniform(low, high, size=check_shape(shape))
    return draws.astype(output_dtype(dtype))
