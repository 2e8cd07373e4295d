import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


def _coords(out_size: int, in_size: int, scale_10: int, half_pixel: bool):
    """ComputeInterpolationValuesInteger: the source position in 1/1024ths, and its two taps."""
    v = np.arange(out_size, dtype=np.int64) * scale_10
    if half_pixel:
        v = v + scale_10 // 2 - (1 << 9)
    low = np.maximum(np.trunc(v / 1024).astype(np.int64), 0)  # C's truncating division
    high = np.minimum(np.trunc((v + 1023) / 1024).astype(np.int64), in_size - 1)
    return v, low, high


def _scale_10(in_size: int, out_size: int, align_corners: bool) -> int:
    if align_corners and out_size > 1:
        return ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    return ((1 << 10) * in_size + out_size // 2) // out_size


@reference_op("ResizeBilinear", since=1, domain="tflite", dtypes={"int8", "int16"})
def tfl_resize_bilinear_1(
    x: np.ndarray, *, size: list[int], align_corners: int = 0, half_pixel_centers: int = 0
) -> np.ndarray:
    """y = round_half_away(sum of the 4 taps' x * weights in 1/1024ths on each axis / 2**20), the
    integer kernel (ResizeBilinearInteger) of int8 / int16 NHWC tensors; x and y share params"""
    if x.ndim != 4 or len(size) != 2 or min(size) < 1:
        raise OpArgumentError(f"tflite::ResizeBilinear needs NHWC x and 2 sizes, got {size}")
    if align_corners and half_pixel_centers:
        raise OpArgumentError("align_corners and half_pixel_centers exclude each other")
    (h, w), (oh, ow) = x.shape[1:3], (int(size[0]), int(size[1]))
    ys, y0, y1 = _coords(oh, h, _scale_10(h, oh, bool(align_corners)), bool(half_pixel_centers))
    xs, x0, x1 = _coords(ow, w, _scale_10(w, ow, bool(align_corners)), bool(half_pixel_centers))
    dy = (ys - 1024 * y0)[None, :, None, None]
    dx = (xs - 1024 * x0)[None, None, :, None]
    v = x.astype(np.int64)
    total = (
        v[:, y0][:, :, x0] * (1024 - dy) * (1024 - dx)
        + v[:, y1][:, :, x0] * dy * (1024 - dx)
        + v[:, y0][:, :, x1] * (1024 - dy) * dx
        + v[:, y1][:, :, x1] * dy * dx
    )
    rounded = total + np.where(total > 0, 1 << 19, -(1 << 19))
    out = np.where(rounded >= 0, rounded >> 20, -((-rounded) >> 20))  # C's truncating division
    return out.astype(x.dtype)
