import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._nchwc import unblock
from .op_global_average_pool import global_average_pool_1


@reference_op("NchwcGlobalAveragePool", since=1, domain="gossamer", dtypes=FLOAT)
def nchwc_global_average_pool_1(x: np.ndarray) -> np.ndarray:
    """y = GlobalAveragePool(x unblocked): (N, C, 1, ...), unblocked (the end of a chain)"""
    return global_average_pool_1(unblock(x, "NchwcGlobalAveragePool"))
