import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("Transpose", since=1, dtypes=ALL)
def transpose_1(data: np.ndarray, *, perm: list[int] | None = None) -> np.ndarray:
    """y[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]; default perm reverses the axes"""
    if perm is None:
        perm = list(range(data.ndim))[::-1]
    if sorted(perm) != list(range(data.ndim)):
        raise OpArgumentError(f"perm {perm} is not a permutation of the {data.ndim} axes")
    return np.ascontiguousarray(np.transpose(data, perm))
