import numpy as np

from ..dtypes import NUMERIC
from ..errors import OpArgumentError
from ..registry import reference_op
from ._window import spatial_attr, split_pads


@reference_op("MaxUnpool", since=9, dtypes=NUMERIC)
def max_unpool_9(
    x: np.ndarray,
    indices: np.ndarray,
    output_shape: np.ndarray | None = None,
    *,
    kernel_shape: list[int],
    pads: list[int] | None = None,
    strides: list[int] | None = None,
) -> np.ndarray:
    """y = zeros(shape); y.flat[indices] = x (shape = output_shape or (in-1)*s + k - pads)"""
    rank = x.ndim - 2
    kernel = spatial_attr("kernel_shape", kernel_shape, rank, 1, 1)
    strides_ = spatial_attr("strides", strides, rank, 1, 1)
    begin, end = split_pads(pads, rank)
    if output_shape is not None:
        shape = tuple(int(v) for v in np.asarray(output_shape).reshape(-1))
        if len(shape) != x.ndim:
            raise OpArgumentError(f"output_shape {list(shape)} must have rank {x.ndim}")
    else:
        spatial = [
            (i - 1) * s + k - b - e
            for i, s, k, b, e in zip(x.shape[2:], strides_, kernel, begin, end)
        ]
        shape = tuple(x.shape[:2]) + tuple(spatial)
    if indices.shape != x.shape:
        raise OpArgumentError(f"indices shape {list(indices.shape)} != X shape {list(x.shape)}")
    y = np.zeros(int(np.prod(shape)), dtype=x.dtype)
    flat = indices.reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= y.size):
        raise OpArgumentError(f"indices must lie in [0, {y.size}) for output shape {list(shape)}")
    y[flat] = x.reshape(-1)
    return y.reshape(shape)
