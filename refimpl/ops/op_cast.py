import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._cast import cast, dtype_of_code


@reference_op("Cast", since=6, dtypes=ALL)
def cast_6(x: np.ndarray, *, to: int) -> np.ndarray:
    """y = x converted to TensorProto type `to` (float8 saturates; see _cast)"""
    return cast(x, dtype_of_code(to))


@reference_op("Cast", since=19, dtypes=ALL)
def cast_19(x: np.ndarray, *, to: int, saturate: int = 1) -> np.ndarray:
    """y = x converted to type `to`; saturate=0 lets float8 overflow to inf/NaN"""
    return cast(x, dtype_of_code(to), saturate=bool(saturate))


@reference_op("Cast", since=24, dtypes=ALL)
def cast_24(x: np.ndarray, *, to: int, saturate: int = 1, round_mode: str = "up") -> np.ndarray:
    """y = x converted to type `to`; round_mode up/down/nearest applies to float8e8m0"""
    return cast(x, dtype_of_code(to), saturate=bool(saturate), round_mode=round_mode)
