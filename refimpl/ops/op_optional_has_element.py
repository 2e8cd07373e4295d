from typing import Any

import numpy as np

from ..registry import reference_op


@reference_op("OptionalHasElement", since=15)
def optional_has_element_15(input: Any = None) -> np.ndarray:
    """y = input is not an empty optional (an absent input is empty), as a bool scalar"""
    return np.array(input is not None)
