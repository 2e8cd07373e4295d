"""Kernels generated per layer (kernels/specialise.py, conv.py's depthwise) against the library
kernels they specialise and the reference; element-wise groups generated 8 elements a
work-item (float8) with every kind of broadcast operand; Pow by a constant 2 or 3 as products."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import conv, pool
from gossamer.refimpl.ir import Graph, Node, Value

from .conftest import check_against_reference
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")


def plan_kernels(sess) -> dict[str, int]:  # type: ignore[no-untyped-def]
    parts = [o.impl for o in sess._program.overrides.values() if o.partition]  # noqa: SLF001
    out: dict[str, int] = {}
    for part in parts:
        for plan in part.plans():
            for kind, count in plan.kernels.items():
                out[kind] = out.get(kind, 0) + count
    return out


CASES = [  # (op, x shape, weight shape or pool attrs, attrs, generated family)
    ("Conv", (1, 6, 3, 20), (6, 1, 5, 5), {"group": 6, "pads": [2, 2, 2, 2]}, "depthwise"),
    (
        "Conv",
        (2, 4, 9, 17),
        (4, 1, 3, 3),
        {"group": 4, "pads": [1, 1, 1, 1], "strides": [2, 2]},
        "depthwise",
    ),  # fmt: skip
    ("Conv", (1, 3, 12, 21), (10, 3, 3, 3), {"pads": [1, 0, 1, 2]}, "conv_direct_f32"),
    ("Conv", (1, 3, 12, 21), (18, 3, 3, 3), {"pads": [1, 0, 1, 2]}, "conv_direct16_f32"),
    (
        "MaxPool",
        (1, 5, 11, 23),
        None,
        {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
        "maxpool8_f32",
    ),  # fmt: skip
    (
        "MaxPool",
        (1, 5, 11, 45),
        None,
        {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
        "maxpool16_f32",
    ),  # fmt: skip
]


@pytest.mark.parametrize("specialise", [True, False])
@pytest.mark.parametrize(("op", "x", "w", "attrs", "family"), CASES)
def test_generated_and_library_kernels_match_the_reference(
    monkeypatch, specialise, op, x, w, attrs, family
):
    monkeypatch.setattr(conv, "SPECIALISE", specialise)
    monkeypatch.setattr(pool, "SPECIALISE", specialise)
    monkeypatch.setattr(conv, "DIRECT", lambda *a: True)
    monkeypatch.setattr(conv, "DIRECT_WIDE", family == "conv_direct16_f32")
    monkeypatch.setattr(pool, "WIDE", family == "maxpool16_f32")
    monkeypatch.setattr(pool, "SHORT_ROWS", False)  # the row kernels: their own test files
    monkeypatch.setattr(conv, "DIRECT_ROWS", False)
    consts = {"w": rand(*w), "b": rand(w[0])} if w else {}
    graph, feeds = one_node(op, {"x": rand(*x)}, consts, attrs)
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-5)
    kinds = plan_kernels(sess)
    generated = [k for k in kinds if k.endswith("(generated)")]
    if specialise:
        assert generated and generated[0].startswith(family), kinds
    else:
        assert not generated, kinds


def elementwise_graph(shape: tuple[int, ...], other: tuple[int, ...]) -> Graph:
    """x * other + 0.5, LeakyRelu, Max with other, HardSwish: one generated group."""
    nodes = [
        Node("Mul", ["x", "o"], ["t0"], name="mul"),
        Node("Add", ["t0", "half"], ["t1"], name="add"),
        Node("LeakyRelu", ["t1"], ["t2"], {"alpha": 0.1}, name="leaky"),
        Node("Max", ["t2", "o"], ["t3"], name="max"),
        Node("HardSwish", ["t3"], ["y"], name="hswish"),
    ]
    return Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", shape), Value("o", "float32", other)],
        outputs=[Value("y")],
        initializers={"half": np.array(0.5, np.float32)},
        opsets={"": 17},
    )


@pytest.mark.parametrize(
    ("shape", "other"),
    [
        ((2, 3, 4, 16), (2, 3, 4, 16)),  # same shape: contiguous vector loads
        ((2, 3, 4, 16), (3, 1, 1)),  # per channel: one value across the 8 lanes
        ((2, 3, 4, 16), (16,)),  # along the last axis: contiguous from the row's start
        ((2, 3, 4, 16), ()),  # a scalar tensor
        ((5, 7), (5, 1)),  # rows not a multiple of 8: one element a work-item
    ],
)
def test_vector_elementwise_groups_match_the_reference(shape, other):
    graph = elementwise_graph(shape, other)
    x, o = rand(*shape), rand(*other)
    x.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    check_against_reference(graph, {"x": x, "o": o})


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0, 0.5, -1.5])
def test_pow_by_a_constant(exponent):
    graph, feeds = one_node("Pow", {"x": np.abs(rand(4, 16)) + 0.1}, {"e": np.float32(exponent)})
    feeds["x"][0, :3] = [-2.0, 0.0, -0.0] if exponent in (1.0, 2.0, 3.0) else [2.0, 0.0, 1.0]
    check_against_reference(graph, feeds, rtol=1e-6, atol=0)


def test_kernels_sharing_a_parameter_macro_are_specialised_with_its_parameters():
    from gossamer.opencl_plugin.kernels.specialise import _inlined

    kernels = ("conv_direct_f32", "conv_direct16_f32", "conv_row16_f32")
    params = {k: _inlined("conv_direct", k)[1] for k in kernels}
    assert len({p for p in params.values()}) == 1  # one list, written once (CONV_DIRECT_PARAMS)
    names = [name for _, name in params["conv_row16_f32"]]
    assert names[:3] == ["x", "wp", "y"] and names[-1] == "slope_mode" and len(names) == 28
    assert ("const int OW", "OW") in params["conv_row16_f32"]


def test_a_parameter_macro_missing_from_the_source_is_an_error():
    from gossamer.opencl_plugin.kernels.specialise import _macro

    assert _macro("#define P \\\n  const int a, \\\n  const int b\n", "P").split() == [
        "const", "int", "a,", "const", "int", "b",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="no #define Q"):
        _macro("#define P int a\n", "Q")
