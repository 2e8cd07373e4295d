import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list, norm_axes, opt_int_list


def _slice(data: np.ndarray, starts: list[int], ends: list[int], axes, steps) -> np.ndarray:
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise OpArgumentError("Slice starts, ends, axes and steps must have the same length")
    index = [slice(None)] * data.ndim
    for axis, start, end, step in zip(norm_axes(axes, data.ndim), starts, ends, steps):
        if step == 0:
            raise OpArgumentError("Slice step must not be 0")
        # Python slices clamp negative / out-of-range bounds exactly as ONNX specifies
        index[axis] = slice(start, end, step)
    return data[tuple(index)].copy()


@reference_op("Slice", since=1, dtypes=ALL)
def slice_1(
    data: np.ndarray, *, starts: list[int], ends: list[int], axes: list[int] | None = None
) -> np.ndarray:
    """y = data[starts:ends] along axes (bounds clamped)"""
    return _slice(data, starts, ends, axes, None)


@reference_op("Slice", since=10, dtypes=ALL)
def slice_10(
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    axes: np.ndarray | None = None,
    steps: np.ndarray | None = None,
) -> np.ndarray:
    """y = data[starts:ends:steps] along axes (bounds clamped, negative steps allowed)"""
    return _slice(data, int_list(starts), int_list(ends), opt_int_list(axes), opt_int_list(steps))
