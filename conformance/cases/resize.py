"""Resize (versions 10, 11, 13, 18, 19) and Upsample (7, 9).

Each version has its own inputs and attributes: Resize-10 takes (X, scales) and only nearest or
linear on asymmetric coordinates (nearest rounds the legacy way); 11 adds roi and sizes, cubic,
coordinate_transformation_mode and nearest_mode (with tf_half_pixel_for_nn, gone in 13); 18 adds
antialias, axes and keep_aspect_ratio_policy; 19 half_pixel_symmetric. The edges enumerate modes x
coordinate modes x nearest rounding, by scales and by sizes, with scales whose coordinates do
not coincide between modes (1.5, 0.8, sizes 7 and 3 from 4 and 5): scale 2 or 0.5 maps many
modes onto the same taps and hides a kernel that ignores the mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx, Edge
from ..values import nchw
from ._build import F3, FLOATS

_COORD = {
    11: ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn",
         "tf_crop_and_resize"],
    13: ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize"],
}  # fmt: skip
_COORD[18] = _COORD[13]
_COORD[19] = _COORD[13] + ["half_pixel_symmetric"]
_NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
_ROI = [0.1, 0.2, 0.9, 0.7]  # starts then ends, per spatial axis (tf_crop_and_resize)


@st.composite
def _resize_attrs(draw: Any, shapes_: tuple[Any, ...], since: int) -> dict[str, Any]:
    modes = ["nearest", "linear"] + (["cubic"] if since >= 11 else [])
    mode = draw(st.sampled_from(modes))
    attrs: dict[str, Any] = {"mode": mode, "_by_sizes": since >= 11 and draw(st.booleans())}
    attrs["_since"] = since
    if since == 10:
        return attrs
    attrs["coordinate_transformation_mode"] = draw(st.sampled_from(_COORD[since]))
    if mode == "nearest":
        attrs["nearest_mode"] = draw(st.sampled_from(_NEAREST))
    if mode == "cubic":
        attrs["cubic_coeff_a"] = draw(st.sampled_from([-0.75, -0.5]))
        attrs["exclude_outside"] = draw(st.sampled_from([0, 1]))
    if attrs["coordinate_transformation_mode"] == "tf_crop_and_resize":
        attrs["extrapolation_value"] = draw(st.sampled_from([0.0, -1.5]))
    if since >= 18 and mode != "nearest" and draw(st.integers(0, 3)) == 0:
        attrs["antialias"] = 1
    if since >= 18 and attrs["_by_sizes"] and draw(st.integers(0, 2)) == 0:
        attrs["keep_aspect_ratio_policy"] = draw(st.sampled_from(["not_larger", "not_smaller"]))
    return attrs


_EMPTY = np.zeros(0, np.float32)  # Resize-11 requires roi and scales: empty when unused


def _roi(ctx: Ctx) -> np.ndarray | None:
    if ctx.attrs.get("coordinate_transformation_mode") != "tf_crop_and_resize":
        return _EMPTY if ctx.attrs.get("_since") == 11 else None
    spatial = len(ctx.shapes[0]) - 2
    starts, ends = _ROI[:spatial], _ROI[2 : 2 + spatial]
    return np.asarray([0.0, 0.0, *starts, 1.0, 1.0, *ends], np.float32)


def _scales(ctx: Ctx) -> np.ndarray | None:
    if ctx.attrs["_by_sizes"]:
        return _EMPTY if ctx.attrs.get("_since") == 11 else None
    given = ctx.attrs.pop("_scales", None)
    spatial = given or [ctx.draw(st.sampled_from([0.5, 0.6, 1.0, 1.5, 2.0, 3.0]))
                        for _ in ctx.shapes[0][2:]]  # fmt: skip
    return np.asarray([1.0, 1.0, *spatial], np.float32)


def _sizes(ctx: Ctx) -> np.ndarray | None:
    if not ctx.attrs.pop("_by_sizes"):
        return None
    x = ctx.shapes[0]
    given = ctx.attrs.pop("_sizes", None)
    spatial = given or [ctx.draw(st.integers(1, 2 * d + 1)) for d in x[2:]]
    return np.asarray([*x[:2], *spatial], np.int64)


def resize_edges(since: int) -> tuple[Edge, ...]:
    """modes x coordinate modes x nearest rounding, by scales and by sizes."""
    # 1.5 and 0.8 (output 6 x 4): no mode maps an output onto an exact integer coordinate that
    # float32 rounding could move across a floor/ceil boundary (engines differ there)
    x2, x1 = (1, 2, 4, 5), (2, 3, 7)
    by_scales = {"_by_sizes": False, "_scales": [1.5, 0.8]}
    by_sizes = {"_by_sizes": True, "_sizes": [7, 3]}
    if since == 10:
        out = [((x2,), {"mode": m, **by_scales}) for m in ("nearest", "linear")]
        out += [((x1,), {"mode": m, "_by_sizes": False, "_scales": [2.5]}) for m in
                ("nearest", "linear")]  # fmt: skip
        out += [((x2,), {"mode": m, "_by_sizes": False, "_scales": [0.5, 0.6]}) for m in
                ("nearest", "linear")]  # fmt: skip
        return tuple(out)
    out = []
    for coord in _COORD[since]:
        for nearest in _NEAREST:
            out.append(((x2,), {"mode": "nearest", "coordinate_transformation_mode": coord,
                                "nearest_mode": nearest, **by_scales}))  # fmt: skip
        out.append(((x1,), {"mode": "nearest", "coordinate_transformation_mode": coord,
                            "_by_sizes": True, "_sizes": [11]}))  # fmt: skip
        for how in (by_scales, by_sizes):
            out.append(((x2,), {"mode": "linear", "coordinate_transformation_mode": coord, **how}))
        out.append(((x2,), {"mode": "cubic", "coordinate_transformation_mode": coord,
                            "exclude_outside": len(out) % 2, **by_sizes}))  # fmt: skip
    out.append(((x2,), {"mode": "cubic", "cubic_coeff_a": -0.5, **by_scales}))
    out.append(((x1,), {"mode": "linear", "_by_sizes": False, "_scales": [0.4]}))
    for edge in out:
        if edge[1].get("coordinate_transformation_mode") == "tf_crop_and_resize":
            edge[1]["extrapolation_value"] = -1.5
    if since >= 18:
        out.append(((x2,), {"mode": "linear", "antialias": 1, "_by_sizes": False,
                            "_scales": [0.5, 0.6]}))  # fmt: skip
        out.append(((x2,), {"mode": "cubic", "antialias": 1, **by_sizes, "_sizes": [2, 3]}))
        for policy in ("not_larger", "not_smaller"):
            out.append(((x2,), {"mode": "nearest", "keep_aspect_ratio_policy": policy,
                                **by_sizes}))  # fmt: skip
    return tuple((s, {**a, "_since": since}) for s, a in out)


_RESIZE_X = st.sampled_from([1, 2]).flatmap(lambda s: nchw(spatial=s, max_hw=5)).map(lambda x: (x,))


def _resize(since: int) -> Case:
    newest = since == 19
    if since == 10:
        args: tuple[Arg, ...] = (Arg("any"), Arg(_scales, dtype="float32", const=True))
    else:
        args = (
            Arg("any"),
            Arg(_roi, dtype="float32", const=True),
            Arg(_scales, dtype="float32", const=True),
            Arg(_sizes, dtype="int64", const=True),
        )
    return Case(
        "Resize",
        args,
        FLOATS if newest else F3,
        shapes=_RESIZE_X,
        attrs=lambda s: _resize_attrs(s, since),
        tol="default",
        opset=None if newest else since,
        variant="" if newest else f"opset{since}",
        edges=resize_edges(since),
        accumulate=True,  # interpolation: weighted sums of neighbours
    )


def _upsample_scales(ctx: Ctx) -> list[float]:
    given = ctx.attrs.pop("_scales", None)
    spatial = given or [ctx.draw(st.sampled_from([1.0, 2.0, 3.0, 1.5])) for _ in ctx.shapes[0][2:]]
    return [1.0, 1.0, *spatial]


def _upsample_attrs(since: int):
    modes = st.sampled_from([{"mode": "nearest"}, {"mode": "linear"}])
    if since >= 9:
        return lambda s: modes
    return lambda s: modes.flatmap(lambda m: st.sampled_from([1.0, 2.0, 1.5]).map(
        lambda k: {**m, "scales": [1.0, 1.0, *[k] * (len(s[0]) - 2)]}))  # fmt: skip


_UPSAMPLE_EDGES = {
    9: tuple(((x,), {"mode": m, "_scales": sc}) for x, sc in (((1, 2, 4, 5), [1.5, 2.5]),
             ((2, 3, 7), [3.0]), ((1, 17, 3, 2), [2.0, 1.0])) for m in ("nearest", "linear")),
    7: tuple(((x,), {"mode": m, "scales": [1.0, 1.0, *sc]}) for x, sc in (((1, 2, 4, 5),
             [1.5, 2.5]), ((2, 3, 7), [3.0])) for m in ("nearest", "linear")),
}  # fmt: skip

CASES: list[Case] = [
    *(_resize(v) for v in (19, 18, 13, 11, 10)),
    Case(
        "Upsample",
        (
            Arg("any"),
            Arg(
                lambda c: np.asarray(_upsample_scales(c), np.float32), dtype="float32", const=True
            ),  # fmt: skip
        ),
        F3,
        shapes=_RESIZE_X,
        opset=9,
        tol="default",
        accumulate=True,
        attrs=_upsample_attrs(9),
        edges=_UPSAMPLE_EDGES[9],
    ),
    Case(
        "Upsample",
        (Arg("any"),),
        F3,
        shapes=_RESIZE_X,
        opset=7,
        variant="opset7",
        tol="default",
        accumulate=True,
        attrs=_upsample_attrs(7),
        edges=_UPSAMPLE_EDGES[7],
    ),
]
