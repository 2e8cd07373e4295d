import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op


def _depth_to_space(x: np.ndarray, bs: int, mode: str) -> np.ndarray:
    if x.ndim != 4 or bs < 1 or x.shape[1] % (bs * bs):
        raise OpArgumentError(
            f"DepthToSpace needs NCHW input with C divisible by blocksize^2, got "
            f"{list(x.shape)} and blocksize {bs}"
        )
    b, c, h, w = x.shape
    if mode == "DCR":
        tmp = x.reshape(b, bs, bs, c // bs**2, h, w).transpose(0, 3, 4, 1, 5, 2)
    elif mode == "CRD":
        tmp = x.reshape(b, c // bs**2, bs, bs, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        raise OpArgumentError(f"DepthToSpace mode must be 'DCR' or 'CRD', got {mode!r}")
    return tmp.reshape(b, c // bs**2, h * bs, w * bs)


@reference_op("DepthToSpace", since=1, dtypes=ALL)
def depth_to_space_1(input: np.ndarray, *, blocksize: int) -> np.ndarray:
    """y[n, c, h*b+i, w*b+j] = x[n, (i*b+j)*C' + c, h, w] (DCR order)"""
    return _depth_to_space(input, blocksize, "DCR")


@reference_op("DepthToSpace", since=11, dtypes=ALL)
def depth_to_space_11(input: np.ndarray, *, blocksize: int, mode: str = "DCR") -> np.ndarray:
    """DCR: y[n, c, h*b+i, w*b+j] = x[n, (i*b+j)*C' + c, h, w]; CRD: x[n, c*b*b + i*b + j, h, w]"""
    return _depth_to_space(input, blocksize, mode)
