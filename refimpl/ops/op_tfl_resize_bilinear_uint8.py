import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


def _taps(out_size: int, in_size: int, align_corners: bool, half_pixel: bool):
    """ComputeInterpolationValues in float32: the source position and its two taps."""
    scale = np.float32(in_size) / np.float32(out_size)
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    o = np.arange(out_size, dtype=np.float32)
    pos = (o + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel else o * scale
    low = np.maximum(np.floor(pos).astype(np.int64), 0)
    high = np.minimum(np.ceil(pos).astype(np.int64), in_size - 1)
    return pos.astype(np.float32), low, high


@reference_op("ResizeBilinearUint8", since=1, domain="tflite", dtypes={"uint8"})
def tfl_resize_bilinear_uint8_1(
    x: np.ndarray, *, size: list[int], align_corners: int = 0, half_pixel_centers: int = 0
) -> np.ndarray:
    """y = uint8(x00 (1 - dy)(1 - dx) + x10 dy (1 - dx) + x01 (1 - dy) dx + x11 dy dx + 0.5) in
    float32, left to right (the reference kernel's float path for uint8 NHWC tensors; x and y
    share params)"""
    if x.ndim != 4 or len(size) != 2 or min(size) < 1:
        raise OpArgumentError(f"tflite::ResizeBilinearUint8 needs NHWC x and 2 sizes, got {size}")
    ys, y0, y1 = _taps(int(size[0]), x.shape[1], bool(align_corners), bool(half_pixel_centers))
    xs, x0, x1 = _taps(int(size[1]), x.shape[2], bool(align_corners), bool(half_pixel_centers))
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise OpArgumentError(f"tflite::ResizeBilinearUint8 of an empty image {list(x.shape)}")
    one = np.float32(1)
    dy = (ys - y0.astype(np.float32))[None, :, None, None]
    dx = (xs - x0.astype(np.float32))[None, None, :, None]
    v = x.astype(np.float32)
    t00, t10 = v[:, y0][:, :, x0], v[:, y1][:, :, x0]
    t01, t11 = v[:, y0][:, :, x1], v[:, y1][:, :, x1]
    total = t00 * (one - dy) * (one - dx) + t10 * dy * (one - dx)
    total = total + t01 * (one - dy) * dx + t11 * dy * dx + np.float32(0.5)
    return total.astype(np.uint8)
