import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._nchwc import block


@reference_op("NchwcReorderInput", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_reorder_input_1(x: np.ndarray, *, block_size: int = 8) -> np.ndarray:
    """y[n, c // b, *s, c % b] = x[n, c, *s] with b = block_size (C a multiple of b)"""
    return block(x, block_size, "NchwcReorderInput")
