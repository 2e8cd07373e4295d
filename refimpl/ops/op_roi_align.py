import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op


def _axis_samples(start, extent, bins: int, grid: int, size: int):
    """Bilinear taps along one axis for every (bin, sample): low/high index, weights, validity."""
    step = extent / bins
    pos = start + np.arange(bins)[:, None] * step + (np.arange(grid)[None, :] + 0.5) * step / grid
    valid = (pos >= -1.0) & (pos <= size)
    pos = np.maximum(pos, 0.0)
    low = np.minimum(np.floor(pos).astype(np.int64), size - 1)
    at_edge = low >= size - 1
    high = np.where(at_edge, low, low + 1)
    frac = np.where(at_edge, 0.0, pos - low)
    return low, high, (1 - frac) * valid, frac * valid


def _roi_align(x, rois, batch_indices, mode, out_h, out_w, ratio, scale, half_pixel):
    if mode not in ("avg", "max"):
        raise OpArgumentError(f"RoiAlign mode must be 'avg' or 'max', got {mode!r}")
    if x.ndim != 4 or rois.ndim != 2 or rois.shape[1] != 4 or len(batch_indices) != len(rois):
        raise OpArgumentError("RoiAlign needs X (N,C,H,W), rois (R,4), batch_indices (R,)")
    _, c, h, w = x.shape
    offset = 0.5 if half_pixel else 0.0
    out = np.zeros((len(rois), c, out_h, out_w))
    for r, (roi, b) in enumerate(zip(rois.astype(np.float64), batch_indices)):  # one RoI at a time
        x0, y0, x1, y1 = roi * scale - offset
        roi_w, roi_h = x1 - x0, y1 - y0
        if not half_pixel:  # output_half_pixel: force RoIs to be at least 1x1
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        gh = ratio if ratio > 0 else int(np.ceil(roi_h / out_h))
        gw = ratio if ratio > 0 else int(np.ceil(roi_w / out_w))
        yl, yh, wyl, wyh = _axis_samples(y0, roi_h, out_h, gh, h)
        xl, xh, wxl, wxh = _axis_samples(x0, roi_w, out_w, gw, w)
        img = x[int(b)].astype(np.float64)
        if mode == "avg":  # separable: sum of samples = Wy @ img @ Wx^T
            wy, wx = np.zeros((out_h, h)), np.zeros((out_w, w))
            rows = np.arange(out_h)[:, None]
            np.add.at(wy, (rows, yl), wyl), np.add.at(wy, (rows, yh), wyh)
            cols = np.arange(out_w)[:, None]
            np.add.at(wx, (cols, xl), wxl), np.add.at(wx, (cols, xh), wxh)
            out[r] = (wy @ img @ wx.T) / max(gh * gw, 1)
        else:  # max over samples of the largest weighted corner (onnxruntime's definition)
            best = None
            for yi, wy_ in ((yl, wyl), (yh, wyh)):
                for xi, wx_ in ((xl, wxl), (xh, wxh)):
                    v = img[:, yi[:, :, None, None], xi[None, None]]  # (c, oh, gh, ow, gw)
                    v = v * (wy_[:, :, None, None] * wx_[None, None])
                    best = v if best is None else np.maximum(best, v)
            out[r] = best.max(axis=(2, 4))  # type: ignore[union-attr]
    return out.astype(x.dtype)


@reference_op("RoiAlign", since=10, dtypes=FLOAT)
def roi_align_10(
    x: np.ndarray,
    rois: np.ndarray,
    batch_indices: np.ndarray,
    *,
    mode: str = "avg",
    output_height: int = 1,
    output_width: int = 1,
    sampling_ratio: int = 0,
    spatial_scale: float = 1.0,
) -> np.ndarray:
    """y[r, c] = bins of x[batch[r], c] over RoI r, each the avg/max of bilinear samples"""
    return _roi_align(
        x,
        rois,
        batch_indices,
        mode,
        output_height,
        output_width,
        sampling_ratio,
        spatial_scale,
        half_pixel=False,
    )


@reference_op("RoiAlign", since=16, dtypes=FLOAT)
def roi_align_16(
    x: np.ndarray,
    rois: np.ndarray,
    batch_indices: np.ndarray,
    *,
    coordinate_transformation_mode: str = "half_pixel",
    mode: str = "avg",
    output_height: int = 1,
    output_width: int = 1,
    sampling_ratio: int = 0,
    spatial_scale: float = 1.0,
) -> np.ndarray:
    """y[r, c] = bins of x[batch[r], c] over RoI r (shifted by -0.5 if half_pixel), avg/max"""
    if coordinate_transformation_mode not in ("half_pixel", "output_half_pixel"):
        raise OpArgumentError(
            f"coordinate_transformation_mode {coordinate_transformation_mode!r} is not "
            "'half_pixel' or 'output_half_pixel'"
        )
    half = coordinate_transformation_mode == "half_pixel"
    return _roi_align(
        x,
        rois,
        batch_indices,
        mode,
        output_height,
        output_width,
        sampling_ratio,
        spatial_scale,
        half_pixel=half,
    )
