import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._reduce import normalize_axes
from ._sequence import as_sequence


@reference_op("ConcatFromSequence", since=11)
def concat_from_sequence_11(
    input_sequence: list[np.ndarray], *, axis: int, new_axis: int = 0
) -> np.ndarray:
    """y = concatenate(seq, axis), or stack(seq, axis) when new_axis = 1"""
    seq = as_sequence(input_sequence, "ConcatFromSequence's input")
    if not seq:
        raise OpArgumentError("ConcatFromSequence needs at least one tensor (dtype and shape)")
    rank = seq[0].ndim + (1 if new_axis else 0)
    (axis,) = normalize_axes(rank, [axis])
    return np.stack(seq, axis=axis) if new_axis else np.concatenate(seq, axis=axis)
