import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._resample_run import run_resize


def _upsample(x: np.ndarray, scales: list[float], mode: str) -> np.ndarray:
    if mode not in ("nearest", "linear", "bilinear"):
        raise OpArgumentError(f"Upsample mode must be 'nearest' or 'linear', got {mode!r}")
    if len(scales) != x.ndim or any(s < 1 for s in scales):
        raise OpArgumentError(f"Upsample needs {x.ndim} scales >= 1, got {scales}")
    return run_resize(
        x,
        None,
        np.array(scales),
        None,
        None,
        ("nearest", "linear"),
        ("asymmetric",),
        mode="nearest" if mode == "nearest" else "linear",
        nearest_mode="legacy",
        coordinate_transformation_mode="asymmetric",
        cubic_coeff_a=-0.75,
        exclude_outside=0,
        extrapolation_value=0.0,
    )


@reference_op("Upsample", since=7, dtypes=ALL)
def upsample_7(x: np.ndarray, *, scales: list[float], mode: str = "nearest") -> np.ndarray:
    """y = x resampled to floor(shape * scales) (asymmetric coordinates, nearest/linear)"""
    return _upsample(x, [float(s) for s in scales], mode)


@reference_op("Upsample", since=9, dtypes=ALL)
def upsample_9(x: np.ndarray, scales: np.ndarray, *, mode: str = "nearest") -> np.ndarray:
    """y = x resampled to floor(shape * scales) (asymmetric coordinates, nearest/linear)"""
    return _upsample(x, [float(s) for s in np.asarray(scales).reshape(-1)], mode)
