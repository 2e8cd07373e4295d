import numpy as np

from ..dtypes import FLOAT
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list


def _base_coords(size: int, align_corners: int) -> np.ndarray:
    if align_corners:
        return np.linspace(-1.0, 1.0, size) if size > 1 else np.zeros(size)
    return (2 * np.arange(size) + 1) / size - 1


@reference_op("AffineGrid", since=20, dtypes=FLOAT)
def affine_grid_20(theta: np.ndarray, size: np.ndarray, *, align_corners: int = 0) -> np.ndarray:
    """grid[n, (d,) h, w] = theta[n] @ (x_w, y_h, (z_d,) 1) with x, y, z spanning [-1, 1]"""
    dims = int_list(size)
    if len(dims) not in (4, 5):
        raise OpArgumentError(
            f"AffineGrid size must be (N, C, H, W) or (N, C, D, H, W), got {dims}"
        )
    r = len(dims) - 2
    if theta.shape != (dims[0], r, r + 1):
        raise OpArgumentError(f"theta {list(theta.shape)} must be {[dims[0], r, r + 1]}")
    spatial = dims[2:]
    axes = [_base_coords(s, align_corners) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # (d,) h, w
    homo = np.stack([*mesh[::-1], np.ones(spatial)], axis=-1)  # (x, y, (z,) 1)
    grid = np.einsum("...k,nrk->n...r", homo, theta.astype(np.float64))
    return grid.astype(theta.dtype)
