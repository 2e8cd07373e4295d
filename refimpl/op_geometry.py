"""The shape and index arithmetic of the reference ops, public for backends.

A backend's kernel must size, index and validate exactly as the reference does (the same output
shapes, the same typed errors for the same bad attributes). These are the reference's own helpers,
under stable public names: a backend imports them from here (or from `gossamer.plugins`), never
from the private `refimpl/ops/_*` modules, which may move.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers; at run time each name is imported when first asked for
    from .ops._axes import norm_axes
    from .ops._cast import dtype_of_code as cast_target_dtype
    from .ops._fused_activation import ACTIVATIONS as FUSED_ACTIVATIONS
    from .ops._im2col import check_groups
    from .ops._pooling import _counts as window_tap_counts
    from .ops._resample import NEAREST_MODES, RESIZE_COORD_MODES
    from .ops._resample import source_coords as resize_source_coords
    from .ops._resample import taps as resize_taps
    from .ops._resample_run import _sizes_to_scales as resize_scales_from_sizes
    from .ops._window import (
        MAX_EXTENT,
        Window,
        auto_pad_name,
        spatial_attr,
        split_pads,
        window,
    )
    from .ops.op_conv_transpose import conv_transpose_geometry
    from .ops.op_reshape import _target_shape as reshape_target_shape
    from .ops.op_split import _equal_sizes as split_equal_sizes

# public name -> (module in refimpl/ops, its name there): imported on first use (PEP 562), so a
# conv kernel's import does not pay for resize's, cast's and every activation's modules
_SOURCES: dict[str, tuple[str, str]] = {
    "norm_axes": ("_axes", "norm_axes"),
    "cast_target_dtype": ("_cast", "dtype_of_code"),
    "FUSED_ACTIVATIONS": ("_fused_activation", "ACTIVATIONS"),
    "check_groups": ("_im2col", "check_groups"),
    "window_tap_counts": ("_pooling", "_counts"),
    "NEAREST_MODES": ("_resample", "NEAREST_MODES"),
    "RESIZE_COORD_MODES": ("_resample", "RESIZE_COORD_MODES"),
    "resize_source_coords": ("_resample", "source_coords"),
    "resize_taps": ("_resample", "taps"),
    "resize_scales_from_sizes": ("_resample_run", "_sizes_to_scales"),
    "MAX_EXTENT": ("_window", "MAX_EXTENT"),
    "Window": ("_window", "Window"),
    "auto_pad_name": ("_window", "auto_pad_name"),
    "spatial_attr": ("_window", "spatial_attr"),
    "split_pads": ("_window", "split_pads"),
    "window": ("_window", "window"),
    "conv_transpose_geometry": ("op_conv_transpose", "conv_transpose_geometry"),
    "reshape_target_shape": ("op_reshape", "_target_shape"),
    "split_equal_sizes": ("op_split", "_equal_sizes"),
}


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = source
    value = getattr(importlib.import_module(f"{__package__}.ops.{module}"), attr)
    globals()[name] = value  # later reads are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))


__all__ = [
    "FUSED_ACTIVATIONS",
    "MAX_EXTENT",
    "NEAREST_MODES",
    "RESIZE_COORD_MODES",
    "Window",
    "auto_pad_name",
    "cast_target_dtype",
    "check_groups",
    "conv_transpose_geometry",
    "norm_axes",
    "reshape_target_shape",
    "resize_scales_from_sizes",
    "resize_source_coords",
    "resize_taps",
    "spatial_attr",
    "split_equal_sizes",
    "split_pads",
    "window",
    "window_tap_counts",
]
