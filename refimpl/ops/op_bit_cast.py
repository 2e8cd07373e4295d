import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._cast import STRING, dtype_of_code

_SUB_BYTE_BITS = {
    "int4": 4,
    "uint4": 4,
    "float4_e2m1fn": 4,
    "int2": 2,
    "uint2": 2,
    "float6_e2m3fn": 6,
    "float6_e3m2fn": 6,
}


def _bits(dtype: np.dtype) -> int:
    return _SUB_BYTE_BITS.get(dtype.name, 8 * dtype.itemsize)


@reference_op("BitCast", since=26, dtypes=ALL - {"string"})
def bit_cast_26(x: np.ndarray, *, to: int) -> np.ndarray:
    """y = the bits of x reinterpreted as type `to` (same bit width, same shape)"""
    target = dtype_of_code(to)
    if target == STRING:
        raise OpArgumentError("BitCast cannot produce strings")
    if _bits(target) != _bits(x.dtype):
        raise OpArgumentError(
            f"BitCast needs equal bit widths: {x.dtype} has {_bits(x.dtype)} bits, "
            f"{target} has {_bits(target)}"
        )
    return x.copy().view(target)  # sub-byte types share ml_dtypes' one-value-per-byte layout
