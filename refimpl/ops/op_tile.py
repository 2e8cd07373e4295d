import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list


@reference_op("Tile", since=6, dtypes=ALL)
def tile_6(input: np.ndarray, repeats: np.ndarray) -> np.ndarray:
    """y = input repeated repeats[i] times along each axis i"""
    reps = int_list(repeats)
    if len(reps) != input.ndim or any(r < 0 for r in reps):
        raise OpArgumentError(f"Tile repeats {reps} must be {input.ndim} non-negative ints")
    return np.tile(input, reps) if input.ndim else input.copy()
