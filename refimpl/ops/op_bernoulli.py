import numpy as np

from ..dtypes import FLOAT, NUMERIC
from ..registry import reference_op
from ._onnx_types import dtype_from_code
from ._rng import generator

_OUTPUT_TYPES = NUMERIC | {"bool"}


@reference_op("Bernoulli", since=15, dtypes=FLOAT)
def bernoulli_15(
    x: np.ndarray, *, dtype: int | None = None, seed: float | None = None
) -> np.ndarray:
    """y = 1 with probability x, else 0, i.i.d. (numpy PCG64 draws: values match no other engine)"""
    out = x.dtype if dtype is None else dtype_from_code(dtype, _OUTPUT_TYPES)
    return (generator(seed).random(size=x.shape) < x.astype(np.float64)).astype(out)
