import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


@reference_op("SequenceConstruct", since=11)
def sequence_construct_11(*inputs: np.ndarray) -> list[np.ndarray]:
    """y = [inputs[0], inputs[1], …] (all of one dtype)"""
    if len({x.dtype for x in inputs}) > 1:
        raise OpArgumentError(
            f"sequence elements must share a dtype, got {[str(x.dtype) for x in inputs]}"
        )
    return list(inputs)
