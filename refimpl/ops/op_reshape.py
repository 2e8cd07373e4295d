import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list


def _target_shape(in_shape: tuple[int, ...], shape: list[int], allowzero: int) -> list[int]:
    out = list(shape)
    if allowzero and 0 in out and -1 in out:
        raise OpArgumentError("Reshape with allowzero=1 cannot combine 0 and -1 in shape")
    for i, d in enumerate(out):
        if d == 0 and not allowzero:
            if i >= len(in_shape):
                raise OpArgumentError(f"shape[{i}] = 0 copies a dimension the input lacks")
            out[i] = in_shape[i]
        elif d < -1:
            raise OpArgumentError(f"shape[{i}] = {d} is invalid (only -1 may be negative)")
    if out.count(-1) > 1:
        raise OpArgumentError(f"shape {shape} has more than one -1")
    size = int(np.prod(in_shape, dtype=np.int64))
    known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
    if -1 in out:
        if known == 0 or size % known:
            raise OpArgumentError(f"cannot infer -1 reshaping {list(in_shape)} to {shape}")
        out[out.index(-1)] = size // known
    elif known != size:
        raise OpArgumentError(f"cannot reshape {list(in_shape)} ({size} elements) to {shape}")
    return out


@reference_op("Reshape", since=5, dtypes=ALL)
def reshape_5(data: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """y = data with the given shape (0 copies the input dim, -1 is inferred)"""
    return data.reshape(_target_shape(data.shape, int_list(shape), 0))


@reference_op("Reshape", since=14, dtypes=ALL)
def reshape_14(data: np.ndarray, shape: np.ndarray, *, allowzero: int = 0) -> np.ndarray:
    """y = data with the given shape (0 copies the input dim unless allowzero, -1 is inferred)"""
    return data.reshape(_target_shape(data.shape, int_list(shape), allowzero))
