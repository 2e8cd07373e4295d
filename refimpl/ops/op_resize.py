from dataclasses import asdict

import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._resample import RESIZE_COORD_MODES
from ._resample_run import ResizeAttrs, run_resize

_MODES = ("nearest", "linear", "cubic")
_COORDS_11, _COORDS_13, _COORDS_19 = (RESIZE_COORD_MODES[v] for v in (11, 13, 19))


def _resize(
    x: np.ndarray,
    roi: np.ndarray | None,
    scales: np.ndarray | None,
    sizes: np.ndarray | None,
    axes: list[int] | None,
    coord_modes: tuple[str, ...],
    a: ResizeAttrs,
    modes: tuple[str, ...] = _MODES,
) -> np.ndarray:
    return run_resize(x, roi, scales, sizes, axes, modes, coord_modes, **asdict(a))


@reference_op("Resize", since=10, dtypes=ALL)
def resize_10(x: np.ndarray, scales: np.ndarray, *, mode: str = "nearest") -> np.ndarray:
    """y = x resampled to floor(shape * scales) (asymmetric coordinates, nearest/linear)"""
    a = ResizeAttrs("asymmetric", mode=mode, nearest_mode="legacy")
    return _resize(x, None, scales, None, None, ("asymmetric",), a, ("nearest", "linear"))


@reference_op("Resize", since=11, dtypes=ALL)
def resize_11(
    x: np.ndarray,
    roi: np.ndarray | None,
    scales: np.ndarray | None,
    sizes: np.ndarray | None = None,
    *,
    coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0,
    extrapolation_value: float = 0.0,
    mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis (nearest/linear/cubic)"""
    a = ResizeAttrs(
        coordinate_transformation_mode,
        cubic_coeff_a,
        exclude_outside,
        extrapolation_value,
        mode,
        nearest_mode,
    )
    return _resize(x, roi, scales, sizes, None, _COORDS_11, a)


@reference_op("Resize", since=13, dtypes=ALL)
def resize_13(
    x: np.ndarray,
    roi: np.ndarray | None = None,
    scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
    *,
    coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0,
    extrapolation_value: float = 0.0,
    mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis (tf_half_pixel_for_nn dropped)"""
    a = ResizeAttrs(
        coordinate_transformation_mode,
        cubic_coeff_a,
        exclude_outside,
        extrapolation_value,
        mode,
        nearest_mode,
    )
    return _resize(x, roi, scales, sizes, None, _COORDS_13, a)


@reference_op("Resize", since=18, dtypes=ALL)
def resize_18(
    x: np.ndarray,
    roi: np.ndarray | None = None,
    scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
    *,
    antialias: int = 0,
    axes: list[int] | None = None,
    coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0,
    extrapolation_value: float = 0.0,
    keep_aspect_ratio_policy: str = "stretch",
    mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis; antialias, axes, aspect policy"""
    a = ResizeAttrs(
        coordinate_transformation_mode,
        cubic_coeff_a,
        exclude_outside,
        extrapolation_value,
        mode,
        nearest_mode,
        antialias,
        keep_aspect_ratio_policy,
    )
    return _resize(x, roi, scales, sizes, axes, _COORDS_13, a)


@reference_op("Resize", since=19, dtypes=ALL)
def resize_19(
    x: np.ndarray,
    roi: np.ndarray | None = None,
    scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
    *,
    antialias: int = 0,
    axes: list[int] | None = None,
    coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0,
    extrapolation_value: float = 0.0,
    keep_aspect_ratio_policy: str = "stretch",
    mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis; adds half_pixel_symmetric"""
    a = ResizeAttrs(
        coordinate_transformation_mode,
        cubic_coeff_a,
        exclude_outside,
        extrapolation_value,
        mode,
        nearest_mode,
        antialias,
        keep_aspect_ratio_policy,
    )
    return _resize(x, roi, scales, sizes, axes, _COORDS_19, a)
