import numpy as np

from ..dtypes import ALL
from ..errors import OpArgumentError
from ..registry import reference_op
from ._axes import int_list, norm_axes, opt_int_list

_NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}


def _pad(data, pads: list[int], value, mode: str, axes, modes: tuple[str, ...]) -> np.ndarray:
    if mode not in modes:
        raise OpArgumentError(f"Pad mode {mode!r} is not one of {list(modes)}")
    axes = list(range(data.ndim)) if axes is None else norm_axes(axes, data.ndim)
    if len(pads) != 2 * len(axes):
        raise OpArgumentError(f"Pad needs {2 * len(axes)} pads for axes {axes}, got {pads}")
    widths = [[0, 0] for _ in range(data.ndim)]
    for i, axis in enumerate(axes):
        widths[axis] = [pads[i], pads[i + len(axes)]]
    # negative pads crop first; the remaining positive pads are plain numpy padding
    crop = tuple(slice(max(-b, 0), d - max(-e, 0)) for (b, e), d in zip(widths, data.shape))
    cropped = data[crop]
    grow = [(max(b, 0), max(e, 0)) for b, e in widths]
    if mode != "constant" and any((b or e) and n == 0 for (b, e), n in zip(grow, cropped.shape)):
        raise OpArgumentError(f"Pad mode {mode!r} cannot pad an empty axis")
    if mode == "constant":
        fill = np.zeros((), data.dtype) if value is None else np.asarray(value).astype(data.dtype)
        return np.pad(cropped, grow, mode="constant", constant_values=fill.reshape(-1)[0])
    return np.pad(cropped, grow, mode=_NUMPY_MODE[mode])  # type: ignore[call-overload]


@reference_op("Pad", since=2, dtypes=ALL)
def pad_2(data: np.ndarray, *, pads: list[int], mode: str = "constant", value: float = 0.0):
    """y = data padded by pads [x1_begin, x2_begin, .., x1_end, ..] (constant/reflect/edge)"""
    return _pad(data, pads, np.float32(value), mode, None, ("constant", "reflect", "edge"))


@reference_op("Pad", since=11, dtypes=ALL)
def pad_11(
    data: np.ndarray,
    pads: np.ndarray,
    constant_value: np.ndarray | None = None,
    *,
    mode: str = "constant",
) -> np.ndarray:
    """y = data padded by pads [x1_begin, .., x1_end, ..]; negative pads crop"""
    modes = ("constant", "reflect", "edge")
    return _pad(data, int_list(pads), constant_value, mode, None, modes)


@reference_op("Pad", since=18, dtypes=ALL)
def pad_18(
    data: np.ndarray,
    pads: np.ndarray,
    constant_value: np.ndarray | None = None,
    axes: np.ndarray | None = None,
    *,
    mode: str = "constant",
) -> np.ndarray:
    """y = data padded by pads on the given axes; negative pads crop"""
    modes = ("constant", "reflect", "edge")
    return _pad(data, int_list(pads), constant_value, mode, opt_int_list(axes), modes)


@reference_op("Pad", since=19, dtypes=ALL)
def pad_19(
    data: np.ndarray,
    pads: np.ndarray,
    constant_value: np.ndarray | None = None,
    axes: np.ndarray | None = None,
    *,
    mode: str = "constant",
) -> np.ndarray:
    """y = data padded by pads on the given axes (constant/reflect/edge/wrap); negative pads crop"""
    modes = ("constant", "reflect", "edge", "wrap")
    return _pad(data, int_list(pads), constant_value, mode, opt_int_list(axes), modes)
