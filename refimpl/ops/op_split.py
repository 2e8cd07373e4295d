import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list, norm_axis


def _split(x: np.ndarray, sizes: list[int], axis: int) -> tuple[np.ndarray, ...]:
    axis = norm_axis(axis, x.ndim)
    if any(s < 0 for s in sizes) or sum(sizes) != x.shape[axis]:
        raise OpArgumentError(f"split {sizes} does not add up to dimension {x.shape[axis]}")
    bounds = np.cumsum(sizes)[:-1]
    return tuple(np.split(x, bounds, axis=axis))


def _equal_sizes(length: int, parts: int, allow_uneven: bool) -> list[int]:
    if parts < 1:
        raise OpArgumentError(f"Split needs at least one output, got {parts}")
    if length % parts == 0:
        return [length // parts] * parts
    if not allow_uneven:
        raise OpArgumentError(f"dimension {length} does not split evenly into {parts} parts")
    chunk = -(-length // parts)  # ceil: the last chunk is the smaller one
    return [chunk] * (parts - 1) + [length - chunk * (parts - 1)]


@reference_op("Split", since=2, dtypes=ALL)
def split_2(
    input: np.ndarray, *, axis: int = 0, split: list[int] | None = None, num_outputs: int = 1
) -> tuple[np.ndarray, ...]:
    """ys = input cut along axis into `split` sizes (default: num_outputs equal parts)"""
    length = input.shape[norm_axis(axis, input.ndim)]
    return _split(input, split or _equal_sizes(length, num_outputs, False), axis)


@reference_op("Split", since=13, dtypes=ALL)
def split_13(
    input: np.ndarray, split: np.ndarray | None = None, *, axis: int = 0, num_outputs: int = 1
) -> tuple[np.ndarray, ...]:
    """ys = input cut along axis into `split` sizes (default: num_outputs equal parts)"""
    length = input.shape[norm_axis(axis, input.ndim)]
    sizes = int_list(split) if split is not None else _equal_sizes(length, num_outputs, False)
    return _split(input, sizes, axis)


@reference_op("Split", since=18, dtypes=ALL)
def split_18(
    input: np.ndarray, split: np.ndarray | None = None, *, axis: int = 0, num_outputs: int = 1
) -> tuple[np.ndarray, ...]:
    """ys = input cut along axis into `split` sizes or num_outputs parts (last one smaller)"""
    length = input.shape[norm_axis(axis, input.ndim)]
    sizes = int_list(split) if split is not None else _equal_sizes(length, num_outputs, True)
    return _split(input, sizes, axis)
