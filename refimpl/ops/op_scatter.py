import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from .op_scatter_elements import scatter_elements


@reference_op("Scatter", since=9, dtypes=ALL)
def scatter_9(
    data: np.ndarray, indices: np.ndarray, updates: np.ndarray, *, axis: int = 0
) -> np.ndarray:
    """out = data; out[i.. with i_axis = indices[i..]] = updates[i..] (old ScatterElements)"""
    return scatter_elements(data, indices, updates, axis, "none", {"none"})
