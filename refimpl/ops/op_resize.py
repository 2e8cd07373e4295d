import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._sh_resize_run import run_resize

_MODES = ("nearest", "linear", "cubic")
_COORDS_13 = (
    "half_pixel",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
)
_COORDS_11 = _COORDS_13 + ("tf_half_pixel_for_nn",)
_COORDS_19 = _COORDS_13 + ("half_pixel_symmetric",)
_NO_CUBIC = dict(cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0)


@reference_op("Resize", since=10, dtypes=ALL)
def resize_10(x: np.ndarray, scales: np.ndarray, *, mode: str = "nearest") -> np.ndarray:
    """y = x resampled to floor(shape * scales) (asymmetric coordinates, nearest/linear)"""
    return run_resize(
        x, None, scales, None, None, ("nearest", "linear"), ("asymmetric",), mode=mode,
        coordinate_transformation_mode="asymmetric", nearest_mode="legacy", **_NO_CUBIC,
    )  # fmt: skip


@reference_op("Resize", since=11, dtypes=ALL)
def resize_11(
    x: np.ndarray, roi: np.ndarray | None, scales: np.ndarray | None,
    sizes: np.ndarray | None = None, *, coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75, exclude_outside: int = 0, extrapolation_value: float = 0.0,
    mode: str = "nearest", nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:  # fmt: skip
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis (nearest/linear/cubic)"""
    return run_resize(
        x, roi, scales, sizes, None, _MODES, _COORDS_11, mode=mode,
        coordinate_transformation_mode=coordinate_transformation_mode,
        cubic_coeff_a=cubic_coeff_a, exclude_outside=exclude_outside,
        extrapolation_value=extrapolation_value, nearest_mode=nearest_mode,
    )  # fmt: skip


@reference_op("Resize", since=13, dtypes=ALL)
def resize_13(
    x: np.ndarray, roi: np.ndarray | None = None, scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None, *, coordinate_transformation_mode: str = "half_pixel",
    cubic_coeff_a: float = -0.75, exclude_outside: int = 0, extrapolation_value: float = 0.0,
    mode: str = "nearest", nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:  # fmt: skip
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis (tf_half_pixel_for_nn dropped)"""
    return run_resize(
        x, roi, scales, sizes, None, _MODES, _COORDS_13, mode=mode,
        coordinate_transformation_mode=coordinate_transformation_mode,
        cubic_coeff_a=cubic_coeff_a, exclude_outside=exclude_outside,
        extrapolation_value=extrapolation_value, nearest_mode=nearest_mode,
    )  # fmt: skip


@reference_op("Resize", since=18, dtypes=ALL)
def resize_18(
    x: np.ndarray, roi: np.ndarray | None = None, scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None, *, antialias: int = 0, axes: list[int] | None = None,
    coordinate_transformation_mode: str = "half_pixel", cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0, extrapolation_value: float = 0.0,
    keep_aspect_ratio_policy: str = "stretch", mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:  # fmt: skip
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis; antialias, axes, aspect policy"""
    return run_resize(
        x, roi, scales, sizes, axes, _MODES, _COORDS_13, antialias=antialias, mode=mode,
        coordinate_transformation_mode=coordinate_transformation_mode,
        cubic_coeff_a=cubic_coeff_a, exclude_outside=exclude_outside,
        extrapolation_value=extrapolation_value, nearest_mode=nearest_mode,
        keep_aspect_ratio_policy=keep_aspect_ratio_policy,
    )  # fmt: skip


@reference_op("Resize", since=19, dtypes=ALL)
def resize_19(
    x: np.ndarray, roi: np.ndarray | None = None, scales: np.ndarray | None = None,
    sizes: np.ndarray | None = None, *, antialias: int = 0, axes: list[int] | None = None,
    coordinate_transformation_mode: str = "half_pixel", cubic_coeff_a: float = -0.75,
    exclude_outside: int = 0, extrapolation_value: float = 0.0,
    keep_aspect_ratio_policy: str = "stretch", mode: str = "nearest",
    nearest_mode: str = "round_prefer_floor",
) -> np.ndarray:  # fmt: skip
    """y[o] = sum_k w_k(x_orig(o)) * x[tap_k] per resized axis; adds half_pixel_symmetric"""
    return run_resize(
        x, roi, scales, sizes, axes, _MODES, _COORDS_19, antialias=antialias, mode=mode,
        coordinate_transformation_mode=coordinate_transformation_mode,
        cubic_coeff_a=cubic_coeff_a, exclude_outside=exclude_outside,
        extrapolation_value=extrapolation_value, nearest_mode=nearest_mode,
        keep_aspect_ratio_policy=keep_aspect_ratio_policy,
    )  # fmt: skip
