"""Vision and detection ops with coupled inputs: GridSample, AffineGrid, RoiAlign,
NonMaxSuppression, DeformConv, Col2Im, MaxUnpool.

Each strategy draws the shapes and attributes together (the attribute dict is the last entry):
RoIs lie in (or slightly beyond) the image of their batch index, DeformConv offsets and masks have
the convolution's output size, Col2Im columns match the block count, MaxUnpool indices are distinct
positions of each (n, c) plane (as a MaxPool would give). NonMaxSuppression scores are distinct
(ties make the selection order engine-dependent).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import make
from ._build import F3, FLOATS, const_int64


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


# ---- GridSample, AffineGrid ----------------------------------------------------------------------
@st.composite
def _grid_shapes(draw: Any, opset: int) -> tuple:
    rank = 2 if opset < 20 else draw(st.sampled_from([2, 2, 3]))
    n, c = draw(st.integers(1, 2)), draw(st.sampled_from((1, 2, 3, 1, 2, 3, 8, 9, 17)))
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    out = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    modes = ["bilinear", "nearest", "bicubic"] if opset < 20 else ["linear", "nearest", "cubic"]
    attrs = {
        "mode": draw(st.sampled_from(modes[:2] if rank == 3 else modes)),
        "padding_mode": draw(st.sampled_from(["zeros", "border", "reflection"])),
        "align_corners": draw(st.sampled_from([0, 1])),
    }
    return ((n, c, *spatial), (n, *out, rank), attrs)


def _grid(ctx: Ctx) -> np.ndarray:
    """Normalised coordinates, partly outside [-1, 1] (exercises the padding modes)."""
    return ctx.rng.uniform(-1.3, 1.3, size=ctx.shapes[1]).astype(ctx.dtype)


@st.composite
def _affine_shapes(draw: Any) -> tuple:
    rank = draw(st.sampled_from([2, 3]))
    n, align = draw(st.integers(1, 2)), draw(st.sampled_from([0, 1]))
    # a side of 1 with align_corners=1 is ambiguous (linspace(-1, 1, 1): -1 or 0; engines differ)
    size = [n, draw(st.integers(1, 3)), *[draw(st.integers(1 + align, 5)) for _ in range(rank)]]
    return ((n, rank, rank + 1), size, {"align_corners": align})


def _grid_edges(opset: int) -> tuple:
    """Every mode x padding mode, align_corners both ways, a 17-channel input."""
    modes = ["bilinear", "nearest", "bicubic"] if opset < 20 else ["linear", "nearest", "cubic"]
    pads = ["zeros", "border", "reflection"]
    return tuple(
        (
            ((1, 17, 4, 5), (1, 3, 4, 2), {"mode": m, "padding_mode": p, "align_corners": k % 2}),
            None,
        )
        for k, (m, p) in enumerate((m, p) for m in modes for p in pads)
    ) + ((((2, 3, 2, 3, 4), (2, 2, 2, 3, 3), {"mode": modes[0]}), None),) * (opset >= 20)


CASES: list[Case] = [
    Case("GridSample", (Arg("any"), Arg(_grid)), F3, shapes=_grid_shapes(20), attrs=_attrs_last,
         edges=_grid_edges(20), accumulate=True),
    Case("GridSample", (Arg("any"), Arg(_grid)), ("float32",), shapes=_grid_shapes(16),
         attrs=_attrs_last, opset=16, variant="opset16", edges=_grid_edges(16), accumulate=True),
    Case("AffineGrid", (Arg("small"), const_int64(lambda c: c.shapes[1])), FLOATS,
         shapes=_affine_shapes(), attrs=_attrs_last, accumulate=True,
         edges=tuple(((theta, size, {"align_corners": a}), None) for theta, size in (
             ((1, 2, 3), [1, 17, 4, 5]), ((2, 3, 4), [2, 3, 2, 3, 4])) for a in (0, 1))),
]  # fmt: skip


# ---- RoiAlign ------------------------------------------------------------------------------------
@st.composite
def _roi_shapes(draw: Any, opset: int) -> tuple:
    n, c, h, w = (draw(st.integers(1, k)) for k in (2, 3, 6, 6))
    if draw(st.integers(0, 2)) == 0:  # channels past a SIMD block
        c = draw(st.sampled_from((8, 9, 17)))
    rois = draw(st.integers(1, 4))
    attrs: dict[str, Any] = {
        "mode": draw(st.sampled_from(["avg", "max"])),
        "output_height": draw(st.integers(1, 3)),
        "output_width": draw(st.integers(1, 3)),
        "sampling_ratio": draw(st.integers(0, 2)),
        "spatial_scale": draw(st.sampled_from([1.0, 0.5])),
    }
    if opset >= 16:
        attrs["coordinate_transformation_mode"] = draw(
            st.sampled_from(["half_pixel", "output_half_pixel"])
        )
    return ((n, c, h, w), (rois, 4), (rois,), attrs)


def _rois(ctx: Ctx) -> np.ndarray:
    """[x1, y1, x2, y2] with x1 <= x2, y1 <= y2, in input coordinates (before spatial_scale)."""
    (_, _, h, w), (r, _) = ctx.shapes[0], ctx.shapes[1]
    scale = ctx.attrs["spatial_scale"]
    lo = ctx.rng.uniform(-0.5, 1.0, (r, 2)) * np.array([w, h]) / scale
    size = ctx.rng.uniform(0.2, 1.0, (r, 2)) * np.array([w, h]) / scale
    return np.concatenate([lo, lo + size], axis=1).astype(ctx.dtype)


def _batch_indices(ctx: Ctx) -> np.ndarray:
    return ctx.rng.integers(0, ctx.shapes[0][0], size=ctx.shapes[2]).astype(np.int64)


_ROI_ARGS = (Arg("any"), Arg(_rois), Arg(_batch_indices, dtype="int64"))


def _roi_edges(opset: int) -> tuple:
    out = []
    for k, (mode, coord) in enumerate(
        (m, c) for m in ("avg", "max") for c in ("half_pixel", "output_half_pixel")
    ):
        attrs = {
            "mode": mode,
            "output_height": 2,
            "output_width": 3,
            "sampling_ratio": k % 3,
            "spatial_scale": 0.5 if k % 2 else 1.0,
        }
        if opset >= 16:
            attrs["coordinate_transformation_mode"] = coord
        elif coord == "output_half_pixel":
            continue
        out.append((((2, 17, 6, 6), (3, 4), (3,), attrs), None))
    return tuple(out)


CASES += [
    Case("RoiAlign", _ROI_ARGS, FLOATS, shapes=_roi_shapes(16), attrs=_attrs_last,
         edges=_roi_edges(16), accumulate=True),
    Case("RoiAlign", _ROI_ARGS, ("float32",), shapes=_roi_shapes(10), attrs=_attrs_last,
         opset=10, variant="opset10", edges=_roi_edges(10), accumulate=True),
]  # fmt: skip


# ---- NonMaxSuppression ---------------------------------------------------------------------------
@st.composite
def _nms_shapes(draw: Any) -> tuple:
    b, c, n = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 12))
    limits = draw(st.integers(0, 3))  # how many of the three optional scalars are given
    shapes = [(b, n, 4), (b, c, n)] + [(1,) if k < limits else None for k in range(3)]
    attrs = {"center_point_box": draw(st.sampled_from([0, 1]))}
    return (*shapes, attrs)


def _boxes(ctx: Ctx) -> np.ndarray:
    """Corner pairs in any order (center_point_box=0) or centre + positive size (=1)."""
    b, n, _ = ctx.shapes[0]
    first = ctx.rng.uniform(0, 10, (b, n, 2))
    second = ctx.rng.uniform(0.5, 4, (b, n, 2))
    if ctx.attrs["center_point_box"]:
        return np.concatenate([first, second], axis=-1).astype(np.float32)
    flip = np.where(ctx.rng.random((b, n, 2)) < 0.3, -1, 1)
    return np.concatenate([first, first + flip * second], axis=-1).astype(np.float32)


def _scores(ctx: Ctx) -> np.ndarray:
    shape = ctx.shapes[1]
    return (ctx.rng.permutation(int(np.prod(shape))).reshape(shape) / np.prod(shape)).astype(
        np.float32
    )


def _nms_scalar(index: int, fn: Any, dtype: str) -> Arg:
    def maker(ctx: Ctx) -> np.ndarray | None:
        return None if ctx.shapes[index] is None else np.asarray([fn(ctx)]).astype(dtype)

    return Arg(maker, dtype=dtype, const=True)


CASES += [
    Case(
        "NonMaxSuppression",
        (
            Arg(_boxes),
            Arg(_scores),
            _nms_scalar(2, lambda c: c.draw(st.integers(0, 5)), "int64"),
            _nms_scalar(3, lambda c: c.draw(st.sampled_from([0.0, 0.3, 0.6])), "float32"),
            _nms_scalar(4, lambda c: c.draw(st.sampled_from([0.1, 0.5])), "float32"),
        ),
        ("float32",),
        shapes=_nms_shapes(),
        attrs=_attrs_last,
        tol="exact",
        edges=tuple(
            (((b, n, 4), (b, c, n), *limits, {"center_point_box": cp}), None)
            for b, c, n, limits, cp in (
                (1, 2, 17, ((1,), (1,), (1,)), 0),
                (2, 1, 9, ((1,), (1,), None), 1),
                (1, 3, 12, (None, None, None), 0),
            )
        ),  # fmt: skip
    ),
]


# ---- DeformConv ----------------------------------------------------------------------------------
@st.composite
def _deform_shapes(draw: Any) -> tuple:
    """(x, w, offset, b, mask, attrs): 2-D, groups and offset groups dividing the channels."""
    group, offset_group = draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2]))
    cin = group * offset_group * draw(st.integers(1, 2))
    cout = group * draw(st.integers(1, 2))
    k = [draw(st.integers(1, 3)) for _ in range(2)]
    s = [draw(st.integers(1, 2)) for _ in range(2)]
    d = [draw(st.integers(1, 2)) for _ in range(2)]
    p = [draw(st.integers(0, 1)) for _ in range(4)]
    eff = [(ki - 1) * di + 1 for ki, di in zip(k, d)]
    size = [draw(st.integers(max(1, e - p[i] - p[i + 2]), 5)) for i, e in enumerate(eff)]
    out = [(size[i] + p[i] + p[i + 2] - eff[i]) // s[i] + 1 for i in range(2)]
    n = draw(st.integers(1, 2))
    taps = k[0] * k[1]
    attrs: dict[str, Any] = {"kernel_shape": k, "strides": s, "dilations": d, "pads": p}
    if group > 1:
        attrs["group"] = group
    if offset_group > 1:
        attrs["offset_group"] = offset_group
    return (
        (n, cin, *size),
        (cout, cin // group, *k),
        (n, offset_group * 2 * taps, *out),
        (cout,) if draw(st.booleans()) else None,
        (n, offset_group * taps, *out) if draw(st.booleans()) else None,
        attrs,
    )


CASES += [
    Case(
        "DeformConv",
        (
            Arg("any"),
            Arg("any", const=True),
            Arg("small", special=False),  # offsets: positions
            Arg("any", const=True),
            Arg("prob"),
        ),
        FLOATS,
        shapes=_deform_shapes(),
        attrs=_attrs_last,
        edges=(
            (
                (
                    (1, 4, 4, 5),
                    (2, 2, 3, 3),
                    (1, 2 * 18, 2, 3),
                    (2,),
                    (1, 18, 2, 3),
                    {
                        "kernel_shape": [3, 3],
                        "strides": [1, 1],
                        "dilations": [1, 1],
                        "pads": [0, 0, 0, 0],
                        "group": 2,
                        "offset_group": 2,
                    },
                ),
                None,
            ),
            (
                (
                    (2, 17, 3, 3),
                    (3, 17, 1, 1),
                    (2, 2, 2, 2),
                    None,
                    None,
                    {
                        "kernel_shape": [1, 1],
                        "strides": [2, 2],
                        "dilations": [1, 1],
                        "pads": [0, 0, 1, 1],
                    },
                ),
                None,
            ),
        ),  # fmt: skip
        tol="matmul",
        reduced=lambda ex: 4 * max(1, int(np.prod(ex.inputs[1].shape[1:]))),
    ),
]


# ---- Col2Im, MaxUnpool ---------------------------------------------------------------------------
@st.composite
def _col2im_shapes(draw: Any) -> tuple:
    """(columns, image_shape, block_shape, attrs) with the column count the block grid gives."""
    rank = draw(st.sampled_from([1, 2, 2]))
    block = [draw(st.integers(1, 3)) for _ in range(rank)]
    dil = [draw(st.integers(1, 2)) for _ in range(rank)]
    strides = [draw(st.integers(1, 2)) for _ in range(rank)]
    pads = [draw(st.integers(0, 1)) for _ in range(2 * rank)]
    eff = [(b - 1) * d + 1 for b, d in zip(block, dil)]
    image = [draw(st.integers(max(1, e - pads[i] - pads[i + rank]), 6)) for i, e in enumerate(eff)]
    blocks = [(image[i] + pads[i] + pads[i + rank] - eff[i]) // strides[i] + 1 for i in range(rank)]
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    attrs = {"dilations": dil, "strides": strides, "pads": pads}
    cols = (n, c * int(np.prod(block)), int(np.prod(blocks)))
    return (cols, image, block, attrs)


@st.composite
def _unpool_shapes(draw: Any) -> tuple:
    """(x, indices, output_shape, attrs): kernel >= stride, so every plane has room."""
    rank = draw(st.sampled_from([1, 2]))
    k = [draw(st.integers(1, 3)) for _ in range(rank)]
    s = [draw(st.integers(1, ki)) for ki in k]
    x = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *[draw(st.integers(1, 4)) for _ in k])
    attrs: dict[str, Any] = {"kernel_shape": k, "strides": s}
    out = [(xi - 1) * si + ki for xi, si, ki in zip(x[2:], s, k)]
    explicit = (*x[:2], *[o + draw(st.integers(0, 1)) for o in out])
    return (x, x, explicit if draw(st.booleans()) else None, attrs)


def _unpool_indices(ctx: Ctx) -> np.ndarray:
    """Distinct flat positions per (n, c) plane of the output, as MaxPool's indices are."""
    x, explicit, attrs = ctx.shapes[0], ctx.shapes[2], ctx.shapes[3]
    out = explicit[2:] if explicit else [
        (xi - 1) * si + ki for xi, si, ki in zip(x[2:], attrs["strides"], attrs["kernel_shape"])
    ]  # fmt: skip
    plane, per = int(np.prod(out)), int(np.prod(x[2:]))
    planes = np.arange(x[0] * x[1]).reshape(x[0], x[1], 1) * plane
    picks = np.stack([ctx.rng.permutation(plane)[:per] for _ in range(x[0] * x[1])])
    return (planes + picks.reshape(x[0], x[1], per)).reshape(x).astype(np.int64)


CASES += [
    Case(
        "Col2Im",
        (Arg("any"), const_int64(lambda c: c.shapes[1]), const_int64(lambda c: c.shapes[2])),
        FLOATS + ("int32", "int64"),
        shapes=_col2im_shapes(),
        attrs=_attrs_last,
        edges=(
            (
                (
                    (1, 2 * 9, 4 * 5),
                    [6, 7],
                    [3, 3],
                    {"dilations": [1, 1], "strides": [1, 1], "pads": [0, 0, 0, 0]},
                ),
                None,
            ),
            (
                ((2, 17 * 2, 17), [33], [2], {"dilations": [2], "strides": [2], "pads": [1, 1]}),
                None,
            ),
        ),  # fmt: skip
        tol="reduction",
        reduced=lambda ex: 9,
        accumulate=True,
    ),
    Case(
        "MaxUnpool",
        (Arg("any"), Arg(_unpool_indices, dtype="int64"), const_int64(lambda c: c.shapes[2])),
        FLOATS + ("int32", "int64"),
        shapes=_unpool_shapes(),
        attrs=_attrs_last,
        edges=(
            (
                ((1, 17, 2, 3), (1, 17, 2, 3), None, {"kernel_shape": [2, 2], "strides": [2, 2]}),
                None,
            ),
            (((2, 3, 9), (2, 3, 9), (2, 3, 20), {"kernel_shape": [2], "strides": [2]}), None),
        ),  # fmt: skip
        tol="exact",
    ),  # fmt: skip
]
_ = make
