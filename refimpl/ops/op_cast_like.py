import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._cast import cast


@reference_op("CastLike", since=15, dtypes=ALL)
def cast_like_15(x: np.ndarray, target_type: np.ndarray) -> np.ndarray:
    """y = x converted to target_type's dtype (as Cast)"""
    return cast(x, target_type.dtype)


@reference_op("CastLike", since=19, dtypes=ALL)
def cast_like_19(x: np.ndarray, target_type: np.ndarray, *, saturate: int = 1) -> np.ndarray:
    """y = x converted to target_type's dtype; saturate=0 lets float8 overflow to inf/NaN"""
    return cast(x, target_type.dtype, saturate=bool(saturate))


@reference_op("CastLike", since=24, dtypes=ALL)
def cast_like_24(
    x: np.ndarray, target_type: np.ndarray, *, saturate: int = 1, round_mode: str = "up"
) -> np.ndarray:
    """y = x converted to target_type's dtype; round_mode applies to float8e8m0"""
    return cast(x, target_type.dtype, saturate=bool(saturate), round_mode=round_mode)
