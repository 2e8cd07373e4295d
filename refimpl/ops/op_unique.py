import numpy as np

from ..dtypes import ALL
from ..registry import reference_op
from ._axes import norm_axis


@reference_op("Unique", since=11, dtypes=ALL)
def unique_11(
    x: np.ndarray, *, axis: int | None = None, sorted: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(y, first-occurrence indices, inverse indices, counts) of the unique values / slices of x"""
    data = x.reshape(-1) if axis is None else x
    ax = 0 if axis is None else norm_axis(axis, x.ndim)
    y, first, inverse, counts = np.unique(
        data, return_index=True, return_inverse=True, return_counts=True, axis=ax
    )
    inverse = inverse.reshape(-1)
    if not sorted:  # reorder by first occurrence
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        y, first, counts, inverse = (
            np.take(y, order, axis=ax),
            first[order],
            counts[order],
            rank[inverse],
        )
    as_i64 = (a.astype(np.int64) for a in (first, inverse, counts))
    return (y, *as_i64)  # type: ignore[return-value]
