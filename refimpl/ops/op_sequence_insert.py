import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op
from ._sequence import as_sequence, resolve_position


@reference_op("SequenceInsert", since=11)
def sequence_insert_11(
    input_sequence: list[np.ndarray], tensor: np.ndarray, position: np.ndarray | None = None
) -> list[np.ndarray]:
    """y = seq[:p] + [tensor] + seq[p:] (p defaults to the end)"""
    seq = as_sequence(input_sequence, "SequenceInsert's input")
    if seq and seq[0].dtype != tensor.dtype:
        raise OpArgumentError(
            f"cannot insert a {tensor.dtype} tensor into a {seq[0].dtype} sequence"
        )
    p = resolve_position(position, len(seq), default=len(seq), inclusive_end=True)
    return [*seq[:p], tensor, *seq[p:]]
