"""Axis helpers for the shape ops: normalising negative axes and reading int tensors."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import OpArgumentError


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    """axis in [-rank, rank-1] -> [0, rank-1]; anything else is an OpArgumentError."""
    axis = int(axis)
    if not -rank <= axis < rank:
        raise OpArgumentError(f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def norm_axes(axes: Iterable[int], rank: int, what: str = "axes") -> list[int]:
    """Each axis normalised; repeated axes are an OpArgumentError."""
    out = [norm_axis(a, rank, what) for a in axes]
    if len(set(out)) != len(out):
        raise OpArgumentError(f"{what} {list(axes)} repeat an axis")
    return out


def int_list(values: np.ndarray | Iterable[int]) -> list[int]:
    """A 0-d/1-d int tensor (or list) as a Python list of ints."""
    return [int(v) for v in np.asarray(values).reshape(-1)]


def opt_int_list(values: np.ndarray | None) -> list[int] | None:
    """int_list of an optional input; None stays None."""
    return None if values is None else int_list(values)


def scalar_int(value: np.ndarray | int, what: str) -> int:
    """A 0-d or one-element tensor as a Python int."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise OpArgumentError(f"{what} must hold exactly one value, got shape {list(arr.shape)}")
    return int(arr.reshape(-1)[0])


def wrap_indices(indices: np.ndarray, dim: int | np.ndarray, what: str = "index") -> np.ndarray:
    """Indices in [-dim, dim-1] as int64 in [0, dim-1]; anything else is an OpArgumentError."""
    idx = np.asarray(indices).astype(np.int64)
    if idx.size and (np.any(idx < -dim) or np.any(idx >= dim)):
        bad = idx[(idx < -dim) | (idx >= dim)].reshape(-1)[0]
        raise OpArgumentError(f"{what} {int(bad)} is out of range for a dimension of size {dim}")
    return np.where(idx < 0, idx + dim, idx)
