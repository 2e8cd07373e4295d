import numpy as np

from ..registry import reference_op
from ._sequence import as_sequence


@reference_op("SequenceLength", since=11)
def sequence_length_11(input_sequence: list[np.ndarray]) -> np.ndarray:
    """y = len(seq) as an int64 scalar"""
    return np.array(len(as_sequence(input_sequence, "SequenceLength's input")), dtype=np.int64)
