import math

import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._im2col import col2im
from ._window import spatial_attr, split_pads


@reference_op("Col2Im", since=18, dtypes=NUMERIC)
def col2im_18(
    x: np.ndarray,
    image_shape: np.ndarray,
    block_shape: np.ndarray,
    *,
    dilations: list[int] | None = None,
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y[n, c, l*s + k*d - pad_begin] += x[n, c*K + k, l] (sum of overlapping blocks)"""
    image = [int(v) for v in np.asarray(image_shape).reshape(-1)]
    block = [int(v) for v in np.asarray(block_shape).reshape(-1)]
    rank = len(image)
    if len(block) != rank or x.ndim != 3:
        raise OpArgumentError(
            f"Col2Im needs x (N, C*prod(block), L) and image/block shapes of one length; got x "
            f"{list(x.shape)}, image_shape {image}, block_shape {block}"
        )
    strides_ = spatial_attr("strides", strides, rank, 1, 1)
    dils = spatial_attr("dilations", dilations, rank, 1, 1)
    begin, end = split_pads(pads, rank)
    n_blocks = [
        (i + b + e - (k - 1) * d - 1) // s + 1
        for i, b, e, k, d, s in zip(image, begin, end, block, dils, strides_)
    ]
    kernel_size = math.prod(block)
    if x.shape[1] % kernel_size or x.shape[2] != math.prod(n_blocks) or min(n_blocks) < 1:
        raise OpArgumentError(
            f"x shape {list(x.shape)} does not match block_shape {block} sliding {n_blocks} "
            f"times over image {image}"
        )
    cols = x.reshape(x.shape[0], x.shape[1] // kernel_size, *block, *n_blocks)
    return col2im(cols, block, strides_, dils, begin, image)
