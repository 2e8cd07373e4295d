"""The borders of reflect, edge and wrap Pad, as strided copies inside the output (src/layout.c's
n-d copy, recorded for segments like the interior copy).

The interior already holds the input. Axes are done in order, as numpy.pad does them: the copy
for axis `a` spans the whole output along the axes before it (already padded) and the interior
along the axes after it. Each side of an axis is one copy: a reversed window (reflect), the edge
row broadcast with stride 0 (edge), or the far end of the interior (wrap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..plugins import RuntimeDecline
from ._native import ext

Array = np.ndarray


def border_refusal(
    mode: str, shape: Sequence[int], begin: Sequence[int], end: Sequence[int]
) -> str:
    """Why these pads cannot be copied in one window per side (the reference then pads), or ''."""
    for a, (d, b, e) in enumerate(zip(shape, begin, end)):
        if not (b or e):
            continue
        if mode == "reflect" and max(b, e) > d - 1:
            return f"reflect pads {b}, {e} on axis {a} of size {d} (at most {d - 1})"
        if mode == "wrap" and max(b, e) > d:
            return f"wrap pads {b}, {e} on axis {a} of size {d} (at most {d})"
        if mode == "edge" and d == 0:
            return f"edge pads on the empty axis {a}"
    return ""


def fill_borders(
    y: Array, shape: Sequence[int], begin: Sequence[int], end: Sequence[int], mode: str,
    threads: int,
) -> None:  # fmt: skip
    """Writes y's borders from its interior (y[begin:begin+shape] holds the input)."""
    rank = y.ndim
    for a in range(rank):
        b, e, d = begin[a], end[a], shape[a]
        if not (b or e):
            continue
        window = [slice(None)] * a + [slice(None)] + \
            [slice(begin[k], begin[k] + shape[k]) for k in range(a + 1, rank)]  # fmt: skip
        lo, hi = b, b + d  # the interior along axis a
        for side, count in (("begin", b), ("end", e)):
            if not count:
                continue
            dst = slice(lo - count, lo) if side == "begin" else slice(hi, hi + count)
            if mode == "reflect":
                src = np.flip(_at(y, window, a, slice(lo + 1, lo + 1 + count) if side == "begin"
                                  else slice(hi - 1 - count, hi - 1)), axis=a)  # fmt: skip
            elif mode == "edge":
                row = _at(y, window, a, slice(lo, lo + 1) if side == "begin" else slice(hi - 1, hi))
                target = list(row.shape)
                target[a] = count
                src = np.broadcast_to(row, tuple(target))
            else:  # wrap
                src = _at(y, window, a, slice(hi - count, hi) if side == "begin"
                          else slice(lo, lo + count))  # fmt: skip
            if ext().copy_into(src, _at(y, window, a, dst), threads):
                raise RuntimeDecline(f"rank {rank} is beyond the copy kernel")


def _at(y: Array, window: list[slice], axis: int, part: slice) -> Array:
    index = list(window)
    index[axis] = part
    return y[tuple(index)]
