import numpy as np

from ..registry import reference_op
from ._sequence import as_sequence, resolve_position


@reference_op("SequenceErase", since=11)
def sequence_erase_11(
    input_sequence: list[np.ndarray], position: np.ndarray | None = None
) -> list[np.ndarray]:
    """y = seq without seq[p] (p defaults to the last element)"""
    seq = as_sequence(input_sequence, "SequenceErase's input")
    p = resolve_position(position, len(seq), default=len(seq) - 1, inclusive_end=False)
    return [*seq[:p], *seq[p + 1 :]]
