import numpy as np

from ..registry import reference_op
from ._rng import check_shape, generator, output_dtype


@reference_op("RandomNormal", since=1)
def random_normal_1(
    *,
    shape: list[int],
    dtype: int = 1,
    mean: float = 0.0,
    scale: float = 1.0,
    seed: float | None = None,
) -> np.ndarray:
    """y ~ N(mean, scale²) i.i.d. of the given shape (numpy draws: values match no other engine)"""
    draws = generator(seed).normal(mean, scale, size=check_shape(shape))
    return draws.astype(output_dtype(dtype))
