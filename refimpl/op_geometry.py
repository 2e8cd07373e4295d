"""The shape and index arithmetic of the reference ops, public for backends.

A backend's kernel must size, index and validate exactly as the reference does (the same output
shapes, the same typed errors for the same bad attributes). These are the reference's own helpers,
under stable public names: a backend imports them from here (or from `gossamer.plugins`), never
from the private `refimpl/ops/_*` modules, which may move.
"""

from __future__ import annotations

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
