import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op


def _space_to_depth(x: np.ndarray, bs: int, mode: str) -> np.ndarray:
    if x.ndim != 4 or bs < 1 or x.shape[2] % bs or x.shape[3] % bs:
        raise OpArgumentError(
            f"SpaceToDepth needs NCHW input with H, W divisible by blocksize, got "
            f"{list(x.shape)} and blocksize {bs}"
        )
    b, c, h, w = x.shape
    tmp = x.reshape(b, c, h // bs, bs, w // bs, bs)
    if mode == "DCR":
        tmp = tmp.transpose(0, 3, 5, 1, 2, 4)
    elif mode == "CRD":
        tmp = tmp.transpose(0, 1, 3, 5, 2, 4)
    else:
        raise OpArgumentError(f"SpaceToDepth mode must be 'DCR' or 'CRD', got {mode!r}")
    return tmp.reshape(b, c * bs * bs, h // bs, w // bs)


@reference_op("SpaceToDepth", since=1, dtypes=ALL)
def space_to_depth_1(input: np.ndarray, *, blocksize: int) -> np.ndarray:
    """y[n, (i*b+j)*C + c, h, w] = x[n, c, h*b+i, w*b+j]"""
    return _space_to_depth(input, blocksize, "DCR")


@reference_op("SpaceToDepth", since=28, dtypes=ALL)
def space_to_depth_28(input: np.ndarray, *, blocksize: int, mode: str = "DCR") -> np.ndarray:
    """DCR: y[n, (i*b+j)*C + c, h, w] = x[n, c, h*b+i, w*b+j]; CRD: y[n, c*b*b + i*b + j, h, w]"""
    return _space_to_depth(input, blocksize, mode)
