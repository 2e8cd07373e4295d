import numpy as np

from ..dtypes import FLOAT
from ..registry import reference_op
from ._im2col import conv, float_compute
from ._window import window


@reference_op("Conv", since=1, dtypes=FLOAT)
def conv_1(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    auto_pad: str = "NOTSET",
    dilations: list[int] | None = None,
    group: int = 1,
    kernel_shape: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, m, o] = b[m] + sum_{c, k} w[m, c, k] * xpad[n, group(m)*C/group + c, o*s + k*d]"""
    win = window(
        x.shape[2:],
        kernel_shape or w.shape[2:],
        strides=strides,
        dilations=dilations,
        pads=pads,
        auto_pad=auto_pad,
    )
    y = conv(float_compute(x), float_compute(w), win, group)
    if b is not None:
        y += float_compute(b).reshape((1, -1) + (1,) * len(win.out))
    return y.astype(x.dtype, copy=False)
