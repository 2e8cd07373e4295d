import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list, norm_axes


@reference_op("CenterCropPad", since=18, dtypes=ALL)
def center_crop_pad_18(
    input_data: np.ndarray, shape: np.ndarray, *, axes: list[int] | None = None
) -> np.ndarray:
    """y = input centre-cropped or zero-padded (centred) to `shape` on axes"""
    axes = list(range(input_data.ndim)) if axes is None else norm_axes(axes, input_data.ndim)
    sizes = int_list(shape)
    if len(sizes) != len(axes) or any(s < 0 for s in sizes):
        raise OpArgumentError(f"CenterCropPad shape {sizes} does not fit axes {axes}")
    out_shape = list(input_data.shape)
    src = [slice(None)] * input_data.ndim
    dst = [slice(None)] * input_data.ndim
    for axis, size in zip(axes, sizes):
        have = input_data.shape[axis]
        out_shape[axis] = size
        if size < have:  # crop: keep the centred window
            start = (have - size) // 2
            src[axis] = slice(start, start + size)
        elif size > have:  # pad: centre the input
            start = (size - have) // 2
            dst[axis] = slice(start, start + have)
    out = np.zeros(out_shape, dtype=input_data.dtype)
    out[tuple(dst)] = input_data[tuple(src)]
    return out
