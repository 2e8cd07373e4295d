import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._reduce import normalize_axes


@reference_op("SplitToSequence", since=11)
def split_to_sequence_11(
    input: np.ndarray, split: np.ndarray | None = None, *, axis: int = 0, keepdims: int = 1
) -> list[np.ndarray]:
    """y = input split along axis: into size-1 pieces (squeezed unless keepdims), into chunks of a
    scalar `split` (the last may be shorter), or into the lengths listed in a 1-D `split`"""
    (axis,) = normalize_axes(input.ndim, [axis])
    n = input.shape[axis]
    if split is None:
        pieces = np.split(input, n, axis=axis) if n else []
        return [p if keepdims else np.squeeze(p, axis=axis) for p in pieces]
    if split.ndim == 0:
        size = int(split)
        if size <= 0:
            raise OpArgumentError(f"split must be positive, got {size}")
        lengths = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        lengths = [int(s) for s in split]
        if any(s < 0 for s in lengths) or sum(lengths) != n:
            raise OpArgumentError(f"split {lengths} must be non-negative and sum to {n}")
    return np.split(input, np.cumsum(lengths)[:-1], axis=axis)
