from typing import Any

import numpy as np

from ..registry import reference_op


@reference_op("Identity", since=1)
def identity_1(x: Any) -> Any:
    """y = x, for a tensor, a sequence (list) or an optional (None when empty)"""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, list):
        return list(x)
    return x
