"""Resize in linear and cubic mode (antialias, exclude_outside and every coordinate mode,
tf_crop_and_resize included) on resample2d_f32, when only the last two axes are resized; nearest
runs as an index map (index_map.py). The per-axis taps and weights are the reference's own
(`resize_source_coords`, `resize_taps` in refimpl/op_geometry), computed once per plan in
float64 and stored as float32."""

from __future__ import annotations

import math

import numpy as np

from ...refimpl.ir import Node, Value
from ...refimpl.op_geometry import (
    norm_axes,
    resize_scales_from_sizes,
    resize_source_coords,
    resize_taps,
)
from ..builder import Builder, f32, i32
from . import index_map
from ._checks import float32_inputs


def _attr(node: Node, name: str, default: object) -> object:
    value = node.attrs.get(name, default)
    return value.decode() if isinstance(value, bytes) else value


def supports(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    if _attr(node, "mode", "nearest") == "nearest":
        return index_map.supports(node, inputs, consts, opset)
    why = float32_inputs(inputs, 0)
    if why:
        return why
    params = [n for n in node.inputs[1:] if n]
    if any(n not in consts for n in params):
        return "scales / sizes / roi are not constant"
    rank = len(inputs[0].shape)  # type: ignore[union-attr]
    x = inputs[0].shape  # type: ignore[union-attr]
    if not all(isinstance(d, int) for d in x):
        return "input shape unknown"
    axes = _axes_resized(node, tuple(x), consts, opset)
    if any(a < rank - 2 for a in axes):
        return "resizes an axis other than the last two"
    return None


def _geometry(node: Node, shape: tuple, consts: dict, opset: int) -> list[tuple]:
    """(axis, out_len, scale, roi pair) per axis the reference resizes, as run_resize does."""
    get = lambda i: consts.get(node.inputs[i]) if len(node.inputs) > i and node.inputs[i] else None  # noqa: E731
    if opset < 11:
        roi, scales, sizes = None, get(1), None
    else:
        roi, scales, sizes = get(1), get(2), get(3)
    axes_attr = node.attrs.get("axes") if opset >= 18 else None
    axes = list(range(len(shape))) if axes_attr is None else norm_axes(axes_attr, len(shape))
    in_lens = [shape[a] for a in axes]
    if scales is not None and scales.size:
        scale = [float(s) for s in scales.reshape(-1)]
        outs = [int(math.floor(n * s)) for n, s in zip(in_lens, scale)]
    else:
        if sizes is None or not sizes.size:
            raise ValueError("Resize needs scales or sizes")
        policy = str(_attr(node, "keep_aspect_ratio_policy", "stretch"))
        scale, outs = resize_scales_from_sizes(in_lens, [int(s) for s in sizes.reshape(-1)], policy)
    r = [] if roi is None else [float(v) for v in roi.reshape(-1)]
    found = []
    for i, axis in enumerate(axes):
        pair = (r[i], r[i + len(axes)]) if r else (0.0, 1.0)
        identity = outs[i] == in_lens[i] and math.isclose(scale[i], 1.0) and pair == (0.0, 1.0)
        if not identity:
            found.append((axis, outs[i], scale[i], pair))
    return found


def _axes_resized(node: Node, shape: tuple, consts: dict, opset: int) -> list[int]:
    return [g[0] for g in _geometry(node, shape, consts, opset)]


def _table(node: Node, in_len: int, geo: tuple | None, opset: int) -> tuple[np.ndarray, ...]:
    """(indices int32, weights float32), each (out_len, taps); -1 first index: outside."""
    if geo is None:  # not resized: one tap of weight 1
        return np.arange(in_len, dtype=np.int32)[:, None], np.ones((in_len, 1), np.float32)
    _, out_len, scale, pair = geo
    mode = (
        "asymmetric"
        if opset < 11
        else str(_attr(node, "coordinate_transformation_mode", "half_pixel"))
    )
    opts = {
        "mode": str(_attr(node, "mode", "nearest")),
        "cubic_coeff_a": float(node.attrs.get("cubic_coeff_a", -0.75)),
        "exclude_outside": int(node.attrs.get("exclude_outside", 0)),
        "antialias": int(node.attrs.get("antialias", 0)),
    }
    x, outside = resize_source_coords(mode, out_len, in_len, scale, pair)
    idx, w = resize_taps(x.astype(np.float64), in_len, scale, opts)
    idx = idx.astype(np.int32)
    if outside is not None:
        idx[outside, 0] = -1
    return idx, w.astype(np.float32)


def lower(bld: Builder, node: Node, opset: int) -> None:
    if _attr(node, "mode", "nearest") == "nearest":
        index_map.lower(bld, node, opset)
        return
    shape = bld.shape(node.inputs[0])
    geo = {g[0]: g for g in _geometry(node, tuple(shape), bld.constants, opset)}
    # the reference's output lengths (shape inference may leave them open, or round otherwise)
    out_shape = tuple(geo[a][1] if a in geo else d for a, d in enumerate(shape))
    bld.shapes[node.outputs[0]] = out_shape
    rank = len(shape)
    H = shape[-2] if rank >= 2 else 1
    W = shape[-1]
    OH = out_shape[-2] if rank >= 2 else 1
    OW = out_shape[-1]
    ih, wh = _table(node, H, geo.get(rank - 2), opset)
    iw, ww = _table(node, W, geo.get(rank - 1), opset)
    key = f"{node.name}::resize{tuple(shape)}->{tuple(out_shape)}"
    tables = [
        bld.weight(key + name, array, array.dtype)
        for name, array in (
            ("ih", ih),
            ("wh", wh.view(np.int32)),
            ("iw", iw),
            ("ww", ww.view(np.int32)),
        )
    ]  # float weights travel as their bits: fp16 storage must not round them
    fill = float(node.attrs.get("extrapolation_value", 0.0))
    batch = math.prod(shape[:-2]) if rank >= 2 else 1
    geo_args = [i32(v) for v in (H, W, OH, OW, ih.shape[1], iw.shape[1])]
    args = [bld.ref(node.inputs[0]), bld.out(node.outputs[0]), *tables, *geo_args, f32(fill)]
    bld.launch("resample2d_f32", (OW, OH, batch), args)


SUPPORT = {"Resize": supports}
LOWER = {"Resize": lower}
