from ..registry import reference_op


@reference_op("SequenceEmpty", since=11)
def sequence_empty_11(*, dtype: int = 1) -> list:
    """y = [] (a sequence of tensors of element type dtype)"""
    return []
