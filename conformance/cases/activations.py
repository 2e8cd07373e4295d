"""Activations and the Softmax family (with the opset < 13 flatten-to-2-D semantics)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..case import Arg, Case
from ..values import axis_of, broadcast, shapes
from ..values import unary as unary_shapes
from ._build import FLOATS, INTS, fixed, reduced_axis, unary
from ._edges import grid, plain

T = "transcendental"
ALPHA = st.sampled_from([0.01, 0.2, 1.0, 1.5])

CASES: list[Case] = [
    unary("Relu", FLOATS + ("int32", "int8", "int64"), tol="exact"),
    unary("LeakyRelu", FLOATS, attrs=fixed(alpha=ALPHA)),
    unary("Elu", FLOATS, tol=T, attrs=fixed(alpha=ALPHA)),
    unary("Selu", FLOATS, tol=T),
    unary("Celu", ("float32",), tol=T, attrs=fixed(alpha=st.sampled_from([0.5, 1.0, 2.0]))),
    unary("Sigmoid", FLOATS, tol=T),
    unary("HardSigmoid", FLOATS, attrs=fixed(alpha=st.sampled_from([0.2, 0.5]), beta=st.just(0.5))),
    unary("HardSwish", FLOATS),
    unary("Tanh", FLOATS, tol=T),
    unary("Softplus", FLOATS, tol=T),
    unary("Softsign", FLOATS),
    unary("Gelu", FLOATS, tol=T),
    unary("Gelu", FLOATS, tol=T, variant="tanh", attrs=fixed(approximate=st.just("tanh"))),
    unary("Mish", FLOATS, tol=T),
    unary("Swish", FLOATS, tol=T, attrs=fixed(alpha=st.sampled_from([0.5, 1.0, 1.702]))),
    unary("ThresholdedRelu", FLOATS, attrs=fixed(alpha=st.sampled_from([0.0, 1.0, 2.0]))),
    unary(
        "Shrink",
        FLOATS + INTS,
        attrs=fixed(bias=st.sampled_from([0.0, 1.0]), lambd=st.sampled_from([0.5, 1.0, 2.0])),
    ),
    Case(
        "PRelu",
        (Arg("any"), Arg("any")),
        FLOATS + ("int32", "int64"),
        shapes=broadcast(2, shuffle=False),
        tol="default",
        edges=plain(
            [
                ((2, 3, 17), (17,)),
                ((2, 17, 3), (17, 1)),
                ((33,), (1,)),
                ((3, 17), (3, 17)),
                ((2, 9, 2, 2), (9, 1, 1)),
                ((65,), ()),
            ]
        ),  # slope per channel, shared
    ),  # fmt: skip
    Case(
        "SwiGLU",
        (Arg("any"), Arg("any")),
        FLOATS,
        shapes=unary_shapes().map(lambda s: s * 2),
        tol=T,
        edges=plain([((65,), (65,)), ((3, 17), (3, 17)), ((2, 33), (2, 33))]),
    ),  # fmt: skip
]


def _axis(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"axis": axis_of(len(shapes_[0]))})


# every axis, negative forms included, of a rank-3 shape with a 17-long axis; long rows
_AXES = grid([((2, 17, 3),)], axis=[0, 1, 2, -1, -2, -3]) + grid(
    [((65,),), ((3, 33),), ((2, 2, 16),)], axis=[-1]
)


def _softmax(op: str, exact: bool = False) -> list[Case]:
    tol = "exact" if exact else T
    one = shapes(min_rank=1, max_rank=4, min_side=1).map(lambda s: (s,))
    return [
        Case(
            op,
            (Arg("any"),),
            FLOATS,
            shapes=one,
            attrs=_axis,
            tol=tol,
            reduced=reduced_axis(),
            special=not exact,
            edges=_AXES,
        ),  # fmt: skip
        Case(
            op,
            (Arg("any"),),
            FLOATS,
            shapes=one,
            attrs=_axis,
            tol=tol,
            opset=11,
            variant="opset11",
            reduced=lambda ex: max(1, ex.inputs[0].size),
            special=not exact,
            edges=_AXES,
        ),  # fmt: skip
    ]


CASES += _softmax("Softmax") + _softmax("LogSoftmax") + _softmax("Hardmax", exact=True)
