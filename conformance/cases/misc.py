"""Resize/Upsample, Dropout (inference), Det, Constant, and other small ops."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import nchw, shapes
from ._build import F3, FLOATS

_COORD = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric"]
_NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


@st.composite
def _resize_attrs(draw: Any, shapes_: tuple[Any, ...]) -> dict[str, Any]:
    mode = draw(st.sampled_from(["nearest", "linear", "cubic"]))
    attrs: dict[str, Any] = {"mode": mode, "_by_sizes": draw(st.booleans())}
    attrs["coordinate_transformation_mode"] = draw(st.sampled_from(_COORD))
    if mode == "nearest":
        attrs["nearest_mode"] = draw(st.sampled_from(_NEAREST))
    if mode == "cubic":
        attrs["cubic_coeff_a"] = draw(st.sampled_from([-0.75, -0.5]))
        attrs["exclude_outside"] = draw(st.sampled_from([0, 1]))
    return attrs


def _scales(ctx: Ctx) -> np.ndarray | None:
    if ctx.attrs["_by_sizes"]:
        return None
    spatial = [ctx.draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])) for _ in ctx.shapes[0][2:]]
    return np.asarray([1.0, 1.0, *spatial], np.float32)


def _sizes(ctx: Ctx) -> np.ndarray | None:
    if not ctx.attrs.pop("_by_sizes"):
        return None
    x = ctx.shapes[0]
    return np.asarray([*x[:2], *[ctx.draw(st.integers(1, 2 * d + 1)) for d in x[2:]]], np.int64)


_RESIZE_X = st.sampled_from([1, 2]).flatmap(lambda s: nchw(spatial=s, max_hw=5)).map(lambda x: (x,))

CASES: list[Case] = [
    Case(
        "Resize",
        (
            Arg("any"),
            Arg(lambda c: None, dtype="float32", const=True),
            Arg(_scales, dtype="float32", const=True),
            Arg(_sizes, dtype="int64", const=True),
        ),
        FLOATS,
        shapes=_RESIZE_X,
        attrs=lambda s: _resize_attrs(s),
        tol="default",
    ),  # fmt: skip
    Case(
        "Upsample",
        (
            Arg("any"),
            Arg(
                lambda c: np.asarray(
                    [
                        1.0,
                        1.0,
                        *[c.draw(st.sampled_from([1.0, 2.0, 3.0])) for _ in c.shapes[0][2:]],
                    ],
                    np.float32,
                ),
                dtype="float32",
                const=True,
            ),
        ),
        F3,
        shapes=_RESIZE_X,
        opset=9,
        tol="default",
        attrs=lambda s: st.sampled_from([{"mode": "nearest"}, {"mode": "linear"}]),
    ),  # fmt: skip
    Case(
        "Dropout",
        (Arg("any"),),
        FLOATS,
        shapes=shapes().map(lambda s: (s,)),
        tol="exact",
        special=True,
    ),  # fmt: skip
    Case(
        "Dropout",
        (
            Arg("any"),
            Arg(lambda c: np.asarray(0.3, np.float32), dtype="float32", const=True),
            Arg(lambda c: np.asarray(False), dtype="bool", const=True),
        ),
        F3,
        shapes=shapes().map(lambda s: (s,)),
        tol="exact",
        outputs=2,
        variant="mask",
    ),  # fmt: skip
    Case(
        "Det",
        (Arg("small"),),
        F3,
        tol="matmul",
        reduced=lambda ex: 16,
        shapes=st.tuples(shapes(0, 1, min_side=1, max_side=2), st.integers(1, 4)).map(
            lambda t: ((*t[0], t[1], t[1]),)
        ),
    ),  # fmt: skip
    Case(
        "Constant",
        (),
        ("float32",),
        shapes=st.just(()),
        tol="exact",
        attrs=lambda s: st.sampled_from(
            [
                {"value": np.arange(6, dtype=np.float32).reshape(2, 3)},
                {"value_float": 1.5},
                {"value_ints": [1, 2, 3]},
                {"value_int": 7},
                {"value_floats": [0.5, -1.0]},
            ]
        ),
    ),  # fmt: skip
]


def _crop_shape(ctx: Ctx) -> np.ndarray:
    return np.asarray([max(0, d + ctx.draw(st.integers(-2, 2))) for d in ctx.shapes[0]], np.int64)


CASES += [
    Case("Unique", (Arg("small"),), F3 + ("int32", "int64"), outputs=4, tol="exact",
         shapes=shapes(1, 1).map(lambda s: (s,)),
         attrs=lambda s: st.sampled_from([{}, {"axis": 0}])),  # fmt: skip
    Case("Binarizer", (Arg("any"),), ("float32", "float64", "int64"), domain="ai.onnx.ml",
         shapes=shapes().map(lambda s: (s,)), tol="exact", special=True,
         attrs=lambda s: st.fixed_dictionaries({"threshold": st.sampled_from([0.0, 1.0])})),
    Case("CenterCropPad", (Arg("any"), Arg(_crop_shape, dtype="int64", const=True)), F3,
         shapes=shapes(1, 3).map(lambda s: (s,)), tol="exact"),  # fmt: skip
    Case("SequenceConstruct", (Arg("any"),) * 3, F3 + ("int64",), tol="exact",
         shapes=st.integers(1, 3).flatmap(lambda n: st.tuples(*[shapes(0, 2)] * n))),
    Case("SplitToSequence", (Arg("any"),), F3 + ("int64",), tol="exact",
         shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
         attrs=lambda s: st.fixed_dictionaries({"axis": st.integers(0, len(s[0]) - 1),
                                                "keepdims": st.sampled_from([0, 1])})),
]  # fmt: skip
