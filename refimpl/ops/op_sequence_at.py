import numpy as np

from ..registry import reference_op
from ._sequence import as_sequence, resolve_position


@reference_op("SequenceAt", since=11)
def sequence_at_11(input_sequence: list[np.ndarray], position: np.ndarray) -> np.ndarray:
    """y = seq[position] (negative positions count from the back)"""
    seq = as_sequence(input_sequence, "SequenceAt's input")
    return seq[resolve_position(position, len(seq), default=0, inclusive_end=False)]
