"""Resize driver shared by Resize and Upsample: validation, output sizes, the per-axis loop."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import OpArgumentError
from ._axes import norm_axes
from ._resample import resize_axis


@dataclass(frozen=True)
class ResizeAttrs:
    """Resize's resampling attributes with their ONNX defaults; run_resize(..., **asdict(a))."""

    coordinate_transformation_mode: str = "half_pixel"
    cubic_coeff_a: float = -0.75
    exclude_outside: int = 0
    extrapolation_value: float = 0.0
    mode: str = "nearest"
    nearest_mode: str = "round_prefer_floor"
    antialias: int = 0  # opset 18 on
    keep_aspect_ratio_policy: str = "stretch"  # opset 18 on


def run_resize(x, roi, scales, sizes, axes, modes, coord_modes, **opts) -> np.ndarray:
    """Checks the attributes against one opset's choices, then resizes (empty = absent input)."""
    if opts["mode"] not in modes:
        raise OpArgumentError(f"Resize mode {opts['mode']!r} is not one of {list(modes)}")
    if opts["coordinate_transformation_mode"] not in coord_modes:
        raise OpArgumentError(
            f"coordinate_transformation_mode {opts['coordinate_transformation_mode']!r} is not "
            f"one of {list(coord_modes)}"
        )
    opts.setdefault("antialias", 0)
    opts.setdefault("keep_aspect_ratio_policy", "stretch")
    has_scales = scales is not None and np.asarray(scales).size > 0
    has_sizes = sizes is not None and np.asarray(sizes).size > 0
    return resize(
        x,
        [float(s) for s in np.asarray(scales).reshape(-1)] if has_scales else None,
        [int(s) for s in np.asarray(sizes).reshape(-1)] if has_sizes else None,
        None if roi is None else [float(r) for r in np.asarray(roi).reshape(-1)],
        list(range(x.ndim)) if axes is None else norm_axes(axes, x.ndim),
        opts,
    )


def _cast_back(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def resize(
    x: np.ndarray,
    scales: list[float] | None,
    sizes: list[int] | None,
    roi: list[float] | None,
    axes: list[int],
    opts: dict,
) -> np.ndarray:
    """x resampled on `axes` to `sizes` (or floor(in * scales)); see the module docstring."""
    if (scales is None) == (sizes is None):
        raise OpArgumentError("Resize needs exactly one of scales and sizes")
    given = scales if scales is not None else sizes
    if len(given) != len(axes):  # type: ignore[arg-type]
        raise OpArgumentError(f"Resize got {len(given)} scales/sizes for {len(axes)} axes")  # type: ignore[arg-type]
    in_lens = [x.shape[a] for a in axes]
    if scales is not None:
        if any(s <= 0 for s in scales):
            raise OpArgumentError(f"Resize scales must be positive, got {scales}")
        outs = [int(math.floor(n * s)) for n, s in zip(in_lens, scales)]
    else:
        scales, outs = _sizes_to_scales(in_lens, sizes, opts["keep_aspect_ratio_policy"])  # type: ignore[arg-type]
    if roi is not None and len(roi) not in (0, 2 * len(axes)):
        raise OpArgumentError(f"Resize roi needs {2 * len(axes)} values, got {len(roi)}")
    out = x.astype(np.float64)
    for i, axis in enumerate(axes):
        pair = (roi[i], roi[i + len(axes)]) if roi else (0.0, 1.0)
        identity = outs[i] == in_lens[i] and math.isclose(scales[i], 1.0) and pair == (0.0, 1.0)
        if not identity:
            out = resize_axis(out, axis, outs[i], float(scales[i]), pair, opts)
    return _cast_back(out, x.dtype)


def _sizes_to_scales(in_lens: list[int], sizes: list[int], policy: str):
    if any(s < 0 for s in sizes):
        raise OpArgumentError(f"Resize sizes must be non-negative, got {sizes}")
    scales = [s / n if n else 1.0 for s, n in zip(sizes, in_lens)]
    if policy == "stretch":
        return scales, list(sizes)
    if policy not in ("not_larger", "not_smaller"):
        raise OpArgumentError(f"unknown keep_aspect_ratio_policy {policy!r}")
    scale = min(scales) if policy == "not_larger" else max(scales)
    return [scale] * len(in_lens), [int(math.floor(scale * n + 0.5)) for n in in_lens]
