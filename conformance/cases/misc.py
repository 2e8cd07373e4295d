"""Dropout (every version), Det, Constant, Unique, Binarizer, CenterCropPad, sequences."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import shapes
from ._build import F3, FLOATS
from ._edges import UNARY_EDGES, grid

CASES: list[Case] = [
    Case(
        "Dropout",
        (Arg("any"),),
        FLOATS,
        shapes=shapes().map(lambda s: (s,)),
        tol="exact",
        edges=UNARY_EDGES,
    ),  # fmt: skip
    # before opset 12: inference only; the mask is ones of x's type (7) or all True (10)
    *(
        Case(
            "Dropout",
            (Arg("any"),),
            F3,
            shapes=shapes().map(lambda s: (s,)),
            tol="exact",
            outputs=2,
            opset=v,
            variant=f"opset{v}",
            edges=UNARY_EDGES,
            attrs=lambda s: st.sampled_from([{}, {"ratio": 0.2}]),
        )
        for v in (10, 7)
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
        edges=UNARY_EDGES,
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
        edges=grid([((1, 1),), ((2, 3, 3),), ((4, 4),), ((5, 5),), ((0, 2, 2),)]),
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
        edges=tuple(
            ((), a)
            for a in (
                {"value": np.arange(6, dtype=np.float32).reshape(2, 3)},
                {"value_float": 1.5},
                {"value_ints": [1, 2, 3]},
                {"value_int": 7},
                {"value_floats": [0.5, -1.0]},
            )
        ),
    ),  # fmt: skip
]


def _crop_shape(ctx: Ctx) -> np.ndarray:
    if "_to" in ctx.attrs:
        return np.asarray(ctx.attrs.pop("_to"), np.int64)
    return np.asarray([max(0, d + ctx.draw(st.integers(-2, 2))) for d in ctx.shapes[0]], np.int64)


CASES += [
    Case("Unique", (Arg("small"),), F3 + ("int32", "int64"), outputs=4, tol="exact",
         shapes=shapes(1, 1).map(lambda s: (s,)),
         attrs=lambda s: st.sampled_from([{}, {"axis": 0}, {"sorted": 0}]),
         edges=grid([((65,),), ((17,),)], axis=[None, 0], sorted=[None, 0])),  # fmt: skip
    Case("Binarizer", (Arg("any"),), ("float32", "float64", "int64"), domain="ai.onnx.ml",
         shapes=shapes().map(lambda s: (s,)), tol="exact", edges=UNARY_EDGES,
         attrs=lambda s: st.fixed_dictionaries({"threshold": st.sampled_from([0.0, 1.0])})),
    Case("CenterCropPad", (Arg("any"), Arg(_crop_shape, dtype="int64", const=True)), F3,
         shapes=shapes(1, 3).map(lambda s: (s,)), tol="exact",
         edges=tuple(((x,), {"_to": t}) for x, t in (((3, 17), [5, 15]), ((3, 17), [1, 20]),
                     ((65,), [64]), ((2, 3, 4), [2, 6, 1])))),  # fmt: skip
    Case("SequenceConstruct", (Arg("any"),) * 3, F3 + ("int64",), tol="exact",
         shapes=st.integers(1, 3).flatmap(lambda n: st.tuples(*[shapes(0, 2)] * n)),
         edges=grid([((65,), (3, 17)), ((), (2,), (0, 3))])),
    Case("SplitToSequence", (Arg("any"),), F3 + ("int64",), tol="exact",
         shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
         attrs=lambda s: st.fixed_dictionaries({"axis": st.integers(0, len(s[0]) - 1),
                                                "keepdims": st.sampled_from([0, 1])}),
         edges=grid([((3, 17),)], axis=[0, 1], keepdims=[0, 1])),
]  # fmt: skip
