import numpy as np

from ..dtypes import INT, UNSIGNED_INT
from ..errors import OpArgumentError
from ..registry import reference_op


def _shift(x: np.ndarray, y: np.ndarray, direction: str) -> np.ndarray:
    if direction not in ("LEFT", "RIGHT"):
        raise OpArgumentError(f"BitShift direction must be 'LEFT' or 'RIGHT', got {direction!r}")
    x, y = np.broadcast_arrays(x, y)
    in_range = (y >= 0) & (y < 8 * x.dtype.itemsize)
    amount = np.where(in_range, y, 0).astype(x.dtype)
    if direction == "RIGHT":  # arithmetic for signed x; out-of-range amounts leave only the sign
        return np.where(in_range, np.right_shift(x, amount), -(x < 0).astype(x.dtype))
    unsigned = np.dtype(f"u{x.dtype.itemsize}")  # bits shifted past the sign bit are dropped
    shifted = np.left_shift(x.astype(unsigned), amount.astype(unsigned)).astype(x.dtype)
    return np.where(in_range, shifted, x.dtype.type(0))


@reference_op("BitShift", since=11, dtypes=UNSIGNED_INT)
def bit_shift_11(x: np.ndarray, y: np.ndarray, *, direction: str) -> np.ndarray:
    """z = x << y or x >> y (unsigned; shifts of the bit width or more give 0)"""
    return _shift(x, y, direction)


@reference_op("BitShift", since=28, dtypes=INT)
def bit_shift_28(x: np.ndarray, y: np.ndarray, *, direction: str) -> np.ndarray:
    """z = x << y or x >> y (signed >> sign-extends; y < 0 or y >= bits: 0, or -1 for x<0 >>)"""
    return _shift(x, y, direction)
