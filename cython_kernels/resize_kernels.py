"""Resize (10, 11, 13, 18, 19) and Upsample (7, 9) on the last two axes (float32).

The other axes must be left as they are. The per-axis index/weight tables come from the
reference's own helpers (source_coords, taps), cached per (input shape, roi, scales, sizes); the C
kernel (src/upsample.c) gathers (nearest, bit-exact; 2x duplicated in registers) or sums the taps
in double in the reference's order (linear, cubic, antialias, exclude_outside, tf_crop_and_resize's
extrapolation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.errors import OpArgumentError
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import (
    NEAREST_MODES,
    RESIZE_COORD_MODES,
    norm_axes,
    resize_scales_from_sizes,
)
from ..refimpl.op_geometry import resize_source_coords as source_coords
from ..refimpl.op_geometry import resize_taps as taps
from ..refimpl.ops import op_resize
from ..refimpl.ops.op_upsample import upsample_7, upsample_9
from ._common import F32, threads
from ._native import ext
from .segments import numpy_work, traceable

Array = np.ndarray


_MODES = ("nearest", "linear", "cubic")
_DEFAULTS = {"coordinate_transformation_mode": "half_pixel", "cubic_coeff_a": -0.75,
             "exclude_outside": 0, "extrapolation_value": 0.0, "mode": "nearest",
             "nearest_mode": "round_prefer_floor", "antialias": 0,
             "keep_aspect_ratio_policy": "stretch"}  # fmt: skip


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _resize_opts(node: Node, version: int) -> dict[str, Any]:
    """The resampling options the reference passes to its helpers, for this node."""
    a = node.attrs
    if version == 7:  # Upsample
        mode = _text(a.get("mode", "nearest"))
        fixed = {"nearest_mode": "legacy", "coordinate_transformation_mode": "asymmetric"}
        return {**_DEFAULTS, "mode": mode, **fixed}
    opts = {k: a.get(k, v) for k, v in _DEFAULTS.items()}
    if version == 10:
        opts.update(coordinate_transformation_mode="asymmetric", nearest_mode="legacy")
    for k in ("mode", "nearest_mode", "coordinate_transformation_mode", "keep_aspect_ratio_policy"):
        opts[k] = _text(opts[k])
    return opts


def _resize_refusal(version: int) -> Callable[[Node, list[Value | None]], str | None]:
    def refusal(node: Node, inputs: list[Value | None]) -> str | None:
        opts = _resize_opts(node, version)
        if version == 7:
            if opts["mode"] not in ("nearest", "linear", "bilinear"):
                return f"Upsample mode {opts['mode']!r} (the reference reports it)"
            return None
        modes = _MODES[:2] if version == 10 else _MODES
        if opts["mode"] not in modes:
            return f"mode {opts['mode']!r} is not one of {list(modes)}"
        coord = opts["coordinate_transformation_mode"]
        if coord not in RESIZE_COORD_MODES[version]:
            return f"coordinate_transformation_mode {coord!r} (the reference reports it)"
        if opts["nearest_mode"] not in NEAREST_MODES:
            return f"nearest_mode {opts['nearest_mode']!r} (the reference reports it)"
        if opts["keep_aspect_ratio_policy"] not in ("stretch", "not_larger", "not_smaller"):
            return f"keep_aspect_ratio_policy {opts['keep_aspect_ratio_policy']!r}"
        return None

    return refusal


def _key(a: Array | None) -> Any:
    return None if a is None else (a.dtype.str, a.shape, a.tobytes())


class _Resize:
    """One Resize/Upsample node: its options and the tables per (shape, roi, scales, sizes)."""

    def __init__(self, node: Node, version: int) -> None:
        self.version = version
        self.opts = _resize_opts(node, version)
        if self.opts["mode"] == "bilinear":
            self.opts["mode"] = "linear"
        axes = node.attrs.get("axes")
        self.axes = None if axes is None else [int(v) for v in axes]
        self.plans: dict[tuple, Any] = {}

    def __call__(self, x: Array, roi: Array | None, scales: Array | None, sizes: Array | None):  # type: ignore[no-untyped-def]
        key = (x.shape, _key(roi), _key(scales), _key(sizes))
        plan = self.plans.get(key)
        if plan is None:
            plan = self._plan(x.shape, roi, scales, sizes)
            if len(self.plans) < 64:
                self.plans[key] = plan
        out_shape, tables = plan
        if tables is None:
            numpy_work()  # (segments.py: this call is not recorded)
            return x.copy()  # no axis resampled: the reference casts to float64 and back
        y = output_array(out_shape, F32)
        if y.size == 0:
            return y
        if x.size == 0:
            raise RuntimeDecline("an empty input resized to a non-empty output")
        hw = x.shape[-2:] if x.ndim >= 2 else (1, x.shape[0])
        x3 = np.ascontiguousarray(x, F32).reshape(-1, *hw)
        ext().resize2d(x3, y.reshape(-1, *out_shape[-2:] if x.ndim >= 2 else (1, y.shape[0])),
                       *tables, threads())  # fmt: skip
        return y

    def _plan(self, shape: tuple[int, ...], roi, scales, sizes) -> tuple:  # type: ignore[no-untyped-def]
        """(output shape, resize2d's table arguments or None), as the reference's resize()."""
        ndim, opts = len(shape), self.opts
        if ndim == 0:
            raise RuntimeDecline("a scalar input")
        has_scales = scales is not None and np.asarray(scales).size > 0
        has_sizes = sizes is not None and np.asarray(sizes).size > 0
        if has_scales == has_sizes:
            raise RuntimeDecline("needs exactly one of scales and sizes")
        try:
            axes = list(range(ndim)) if self.axes is None else norm_axes(self.axes, ndim)
        except OpArgumentError as err:
            raise RuntimeDecline(str(err)) from err
        given = np.asarray(scales if has_scales else sizes).reshape(-1)
        if len(given) != len(axes):
            raise RuntimeDecline(f"{len(given)} scales/sizes for {len(axes)} axes")
        in_lens = [shape[a] for a in axes]
        if has_scales:
            sc = [float(s) for s in given]
            if any(s <= 0 for s in sc):
                raise RuntimeDecline(f"scales must be positive, got {sc}")
            outs = [int(math.floor(n * s)) for n, s in zip(in_lens, sc)]
        else:
            sz = [int(s) for s in given]
            if any(s < 0 for s in sz):
                raise RuntimeDecline(f"sizes must be non-negative, got {sz}")
            sc, outs = resize_scales_from_sizes(in_lens, sz, opts["keep_aspect_ratio_policy"])
        roi_l = None if roi is None else [float(r) for r in np.asarray(roi).reshape(-1)]
        if roi_l is not None and len(roi_l) not in (0, 2 * len(axes)):
            raise RuntimeDecline(f"roi needs {2 * len(axes)} values, got {len(roi_l)}")
        out_shape = list(shape)
        resampled: dict[int, tuple] = {}
        for i, axis in enumerate(axes):
            pair = (roi_l[i], roi_l[i + len(axes)]) if roi_l else (0.0, 1.0)
            out_shape[axis] = outs[i]
            if outs[i] == in_lens[i] and math.isclose(sc[i], 1.0) and pair == (0.0, 1.0):
                continue  # the reference leaves this axis as it is
            if axis < ndim - 2:
                raise RuntimeDecline(f"axis {axis} is resized (only the last two axes here)")
            resampled[axis] = (i, outs[i], in_lens[i], float(sc[i]), pair)
        if not resampled:
            return tuple(out_shape), None
        weighted = opts["mode"] != "nearest"
        per_axis = {}
        for axis, (order, out_len, in_len, scale, pair) in resampled.items():
            if out_len == 0 or in_len == 0:
                per_axis[axis] = None
                continue
            coords, outside = source_coords(
                opts["coordinate_transformation_mode"], out_len, in_len, scale, pair
            )
            idx, w = taps(coords.astype(np.float64), in_len, scale, opts)
            mask = None if outside is None or not outside.any() else outside.astype(np.uint8)
            weighted = weighted or mask is not None
            per_axis[axis] = (order, idx.astype(np.int32), w, mask)
        if len(resampled) == 2 and weighted:
            orders = [resampled[a][0] for a in sorted(resampled)]
            if orders[0] > orders[1]:
                raise RuntimeDecline("axes resize W before H (the kernel sums H first)")

        def axis_args(axis: int) -> tuple:
            entry = per_axis.get(axis)
            if axis not in resampled or entry is None:
                return (0, None, None, None)
            _, idx, w, mask = entry
            # tap-major: tap t of output o at [t * out + o] (the C kernel reads vectors of o)
            wt = np.ascontiguousarray(w.T, np.float64).reshape(-1) if weighted else None
            return (idx.shape[1], np.ascontiguousarray(idx.T).reshape(-1), wt, mask)

        h_axis, w_axis = ndim - 2, ndim - 1
        tables = (*axis_args(h_axis), *axis_args(w_axis), float(opts["extrapolation_value"]))
        return tuple(out_shape), tables


def _sig_10(p: _Resize) -> Callable[..., Any]:
    def resize(x: Array, scales: Array, *, mode: str = "nearest") -> Array:
        return p(x, None, scales, None)

    return resize


def _sig_11(p: _Resize) -> Callable[..., Any]:
    def resize(
        x: Array, roi: Array | None, scales: Array | None, sizes: Array | None = None, *,
        coordinate_transformation_mode: str = "half_pixel", cubic_coeff_a: float = -0.75,
        exclude_outside: int = 0, extrapolation_value: float = 0.0, mode: str = "nearest",
        nearest_mode: str = "round_prefer_floor",
    ) -> Array:  # fmt: skip
        return p(x, roi, scales, sizes)

    return resize


def _sig_13(p: _Resize) -> Callable[..., Any]:
    def resize(
        x: Array, roi: Array | None = None, scales: Array | None = None,
        sizes: Array | None = None, *, coordinate_transformation_mode: str = "half_pixel",
        cubic_coeff_a: float = -0.75, exclude_outside: int = 0, extrapolation_value: float = 0.0,
        mode: str = "nearest", nearest_mode: str = "round_prefer_floor",
    ) -> Array:  # fmt: skip
        return p(x, roi, scales, sizes)

    return resize


def _sig_18(p: _Resize) -> Callable[..., Any]:
    def resize(
        x: Array, roi: Array | None = None, scales: Array | None = None,
        sizes: Array | None = None, *, antialias: int = 0, axes: list[int] | None = None,
        coordinate_transformation_mode: str = "half_pixel", cubic_coeff_a: float = -0.75,
        exclude_outside: int = 0, extrapolation_value: float = 0.0,
        keep_aspect_ratio_policy: str = "stretch", mode: str = "nearest",
        nearest_mode: str = "round_prefer_floor",
    ) -> Array:  # fmt: skip
        return p(x, roi, scales, sizes)

    return resize


def _upsample_scales(x: Array, scales: list[float]) -> Array:
    if len(scales) != x.ndim or any(s < 1 for s in scales):
        raise RuntimeDecline(f"Upsample needs {x.ndim} scales >= 1, got {scales}")
    return np.asarray(scales, np.float64)


def _sig_u7(p: _Resize) -> Callable[..., Any]:
    def upsample(x: Array, *, scales: list[float], mode: str = "nearest") -> Array:
        return p(x, None, _upsample_scales(x, [float(s) for s in scales]), None)

    return upsample


def _sig_u9(p: _Resize) -> Callable[..., Any]:
    def upsample(x: Array, scales: Array, *, mode: str = "nearest") -> Array:
        flat = [float(s) for s in np.asarray(scales).reshape(-1)]
        return p(x, None, _upsample_scales(x, flat), None)

    return upsample


_RESIZE_SIGNATURES = {10: _sig_10, 11: _sig_11, 13: _sig_13, 18: _sig_18, 19: _sig_18,
                      7: _sig_u7, 9: _sig_u9}  # fmt: skip


def _resize_kernel(reference: Any, version: int, fn: Callable[..., Any]) -> Any:
    """A Resize/Upsample kernel for `reference` (opset `version`), run through prepare()."""
    opts_version = 7 if version == 9 else version

    def prepare_node(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        return traceable(_RESIZE_SIGNATURES[version](_Resize(node, opts_version)))

    return kernel(reference, dtypes={"float32"}, supports=_resize_refusal(opts_version),
                  prepare=prepare_node)(fn)  # fmt: skip


class ResizeKernels(KernelBackend):
    """The Resize/Upsample kernels (mixed into CythonBackend)."""

    resize_10 = _resize_kernel(op_resize.resize_10, 10, _sig_10(None))  # type: ignore[arg-type]
    resize_11 = _resize_kernel(op_resize.resize_11, 11, _sig_11(None))  # type: ignore[arg-type]
    resize_13 = _resize_kernel(op_resize.resize_13, 13, _sig_13(None))  # type: ignore[arg-type]
    resize_18 = _resize_kernel(op_resize.resize_18, 18, _sig_18(None))  # type: ignore[arg-type]
    resize_19 = _resize_kernel(op_resize.resize_19, 19, _sig_18(None))  # type: ignore[arg-type]
    upsample_7 = _resize_kernel(upsample_7, 7, _sig_u7(None))  # type: ignore[arg-type]
    upsample_9 = _resize_kernel(upsample_9, 9, _sig_u9(None))  # type: ignore[arg-type]
