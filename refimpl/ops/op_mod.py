import numpy as np

from ..dtypes import FLOAT, NUMERIC, name_of
from ..errors import OpArgumentError
from ..registry import reference_op


def _mod(a: np.ndarray, b: np.ndarray, fmod: int) -> np.ndarray:
    if fmod not in (0, 1):
        raise OpArgumentError(f"Mod fmod must be 0 or 1, got {fmod}")
    return (np.fmod if fmod else np.mod)(a, b).astype(a.dtype, copy=False)


@reference_op("Mod", since=10, dtypes=NUMERIC)
def mod_10(a: np.ndarray, b: np.ndarray, *, fmod: int = 0) -> np.ndarray:
    """c = a - floor(a/b)*b (sign of b; integers only) or, fmod=1, a - trunc(a/b)*b (sign of a)"""
    if fmod == 0 and name_of(a.dtype) in FLOAT:
        raise OpArgumentError("Mod before opset 28 needs fmod=1 for floating-point inputs")
    return _mod(a, b, fmod)


@reference_op("Mod", since=28, dtypes=NUMERIC)
def mod_28(a: np.ndarray, b: np.ndarray, *, fmod: int = 0) -> np.ndarray:
    """c = a - floor(a/b)*b (sign of b) or, fmod=1, a - trunc(a/b)*b (sign of a); any type"""
    return _mod(a, b, fmod)
