"""Sliding-window geometry shared by the conv and pooling ops.

Resolves the ONNX attributes (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) of one
node against the spatial shape of its input into a `Window`: the pads actually applied and the
output spatial shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import FrozenInstanceError

from ..errors import OpArgumentError

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
# Largest window extent or pad on one axis: no tensor axis is longer, and every kernel's index
# arithmetic (int64 in C) stays far from overflow below it.
MAX_EXTENT = 2**31 - 1


class Window:
    """Window of `kernel` taps every `strides`, taps `dilations` apart, over a padded input.

    Immutable, compared and hashed by its fields, as a frozen dataclass would be; a plain class
    because defining a dataclass costs ~1 ms, paid by the first load of every conv or pooling
    model."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads_begin: tuple[int, ...]
    pads_end: tuple[int, ...]
    out: tuple[int, ...]
    _FIELDS = ("kernel", "strides", "dilations", "pads_begin", "pads_end", "out")

    def __init__(
        self,
        kernel: tuple[int, ...],
        strides: tuple[int, ...],
        dilations: tuple[int, ...],
        pads_begin: tuple[int, ...],
        pads_end: tuple[int, ...],
        out: tuple[int, ...],
    ) -> None:
        values = (kernel, strides, dilations, pads_begin, pads_end, out)
        self.__dict__.update(zip(self._FIELDS, values))  # not through the frozen __setattr__

    def _key(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.__dict__[f] for f in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Window(" + ", ".join(f"{f}={self.__dict__[f]!r}" for f in self._FIELDS) + ")"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Window], tuple[tuple[int, ...], ...]]:
        return self.__class__, self._key()

    @property
    def extent(self) -> tuple[int, ...]:
        """Span of one window in input elements: (k - 1) * d + 1 per axis."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilations))


def spatial_attr(
    name: str, value: Sequence[int] | None, rank: int, default: int, minimum: int
) -> tuple[int, ...]:
    """An attribute with one entry per spatial axis (the default repeated when absent)."""
    if value is None or len(value) == 0:
        return (default,) * rank
    out = tuple(int(v) for v in value)
    if len(out) != rank:
        raise OpArgumentError(
            f"{name} has {len(out)} entries, expected {rank} (one per spatial axis)"
        )
    if any(v < minimum for v in out):
        raise OpArgumentError(f"{name} must be >= {minimum} on every axis, got {list(out)}")
    return out


def auto_pad_name(auto_pad: str | bytes) -> str:
    name = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if name not in AUTO_PADS:
        raise OpArgumentError(f"auto_pad must be one of {', '.join(AUTO_PADS)}, got {name!r}")
    return name


def split_pads(pads: Sequence[int] | None, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """[x1_begin, x2_begin, ..., x1_end, x2_end, ...] -> (begins, ends); absent means zeros."""
    if pads is None or len(pads) == 0:
        return (0,) * rank, (0,) * rank
    if len(pads) != 2 * rank:
        raise OpArgumentError(f"pads has {len(pads)} entries, expected {2 * rank}")
    if any(int(p) < 0 for p in pads):
        raise OpArgumentError(f"pads must be >= 0, got {list(pads)}")
    return tuple(int(p) for p in pads[:rank]), tuple(int(p) for p in pads[rank:])


def window(
    in_shape: Sequence[int],
    kernel: Sequence[int],
    *,
    strides: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    auto_pad: str | bytes = "NOTSET",
    ceil_mode: int = 0,
) -> Window:
    """The window of a conv/pool over spatial shape `in_shape`, as ONNX defines it."""
    rank = len(in_shape)
    kernel_ = spatial_attr("kernel_shape", kernel, rank, 1, 1)
    strides_ = spatial_attr("strides", strides, rank, 1, 1)
    dils = spatial_attr("dilations", dilations, rank, 1, 1)
    mode = auto_pad_name(auto_pad)
    begin, end = split_pads(pads if mode == "NOTSET" else None, rank)
    out: list[int] = []
    begins, ends = list(begin), list(end)
    for i, (n, k, s, d) in enumerate(zip(in_shape, kernel_, strides_, dils)):
        ext = (k - 1) * d + 1
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-n // s)
            total = max(0, (o - 1) * s + ext - n)
            small, large = total // 2, total - total // 2
            begins[i], ends[i] = (small, large) if mode == "SAME_UPPER" else (large, small)
        else:
            span = n + begins[i] + ends[i] - ext
            o = (-(-span // s) if ceil_mode else span // s) + 1
            if ceil_mode and (o - 1) * s >= n + begins[i]:
                o -= 1  # a window may not start in the end padding
        if max(ext, begins[i], ends[i]) > MAX_EXTENT:
            raise OpArgumentError(
                f"window of extent {ext} padded by ({begins[i]}, {ends[i]}) on spatial axis {i} "
                f"exceeds {MAX_EXTENT}: no input can be that large"
            )
        if o < 1 or n + begins[i] + ends[i] < ext:
            raise OpArgumentError(
                f"window of extent {ext} does not fit spatial axis {i} of size {n} "
                f"padded by ({begins[i]}, {ends[i]})"
            )
        out.append(o)
    # One window along an axis: its stride never applies (and a kernel of 1 never dilates), so
    # both are set to 1 there; the output is the same, and no index o * stride can overflow.
    strides_ = tuple(1 if o == 1 else s for o, s in zip(out, strides_))
    dils = tuple(1 if k == 1 else d for k, d in zip(kernel_, dils))
    return Window(kernel_, strides_, dils, tuple(begins), tuple(ends), tuple(out))
