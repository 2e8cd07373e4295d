"""Conv and ConvTranspose (pooling: pool.py; MatMul, Gemm, Einsum: matmul.py).

Shapes and attributes are drawn together (the shapes strategy returns the input shapes followed by
the attribute dict), so pads/strides/dilations/group always fit the input: every output dimension
is at least 1 and the channel counts divide by the group. Besides small convolutions the strategy
draws depthwise and grouped convolutions with BLOCK_SIZES channels (SIMD channel blocks), wide
input or output channel counts, batch up to 3 and BLOCK_SIZES spatial sides in 1-D. The edges
enumerate what changes indexing: asymmetric pads, dilations, strides larger than the kernel,
auto_pad, and channel counts on both sides of 8, 16, 32 and 64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Edge, Example
from ..values import BLOCK_SIZES
from ._build import FLOATS

CONV_ELEMENTS = 1024  # per input (x); the weights may be larger


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


@st.composite
def _window(draw: Any, spatial: int, dilations: bool) -> dict[str, Any]:
    """kernel/strides/dilations/pads (or auto_pad) for `spatial` dims; `_min`: the smallest input
    size per dim that gives an output of at least 1."""
    k = [draw(st.sampled_from([1, 2, 3, 3])) for _ in range(spatial)]  # 3: pads can be non-zero
    use_d = dilations and draw(st.booleans())
    d = [draw(st.integers(1, 2)) if use_d else 1 for _ in range(spatial)]
    eff = [(ki - 1) * di + 1 for ki, di in zip(k, d)]
    out: dict[str, Any] = {"kernel_shape": k}
    if draw(st.booleans()):
        out["strides"] = [draw(st.integers(1, 3)) for _ in range(spatial)]  # 3: beyond the kernel
    if use_d:
        out["dilations"] = d
    begins = [draw(st.integers(0, (e - 1) // 2)) for e in eff]
    ends = [draw(st.integers(0, (e - 1) // 2)) for e in eff]
    mode = draw(st.integers(0, 4))  # explicit pads most often: off-by-one pad bugs hide elsewhere
    if mode <= 2 and any(begins + ends):
        out["pads"] = begins + ends
    elif mode == 4:
        out["auto_pad"] = draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))
    padded = [b + e for b, e in zip(begins, ends)] if "pads" in out else [0] * spatial
    out["_min"] = [max(1, e - p) for e, p in zip(eff, padded)]
    return out


def _channels(draw: Any, room: int) -> tuple[int, int, int]:
    """(group, cin, cout): small; or depthwise / grouped / wide with BLOCK_SIZES channel counts,
    at most `room` input channels."""
    kind = draw(st.integers(0, 5))
    wide = [b for b in BLOCK_SIZES if b <= room] or [1]
    if kind == 0:  # depthwise, channel multiplier 1 or 2
        c = draw(st.sampled_from(wide))
        return c, c, c * draw(st.sampled_from([1, 1, 2]))
    if kind == 1:  # grouped, many channels per group or many groups
        group = draw(st.sampled_from([g for g in (2, 3, 4, 8) if g <= room] or [1]))
        per = draw(st.sampled_from([b for b in BLOCK_SIZES if b * group <= room] or [1]))
        return group, group * per, group * draw(st.sampled_from([1, 2, 3, 8, 9]))
    if kind == 2:  # a wide input or output channel count
        wide_c = draw(st.sampled_from(wide))
        small = draw(st.integers(1, 3))
        return (1, wide_c, small) if draw(st.booleans()) else (1, small, wide_c)
    group = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = group * draw(st.integers(1, 2)), group * draw(st.integers(1, 3))
    if kind == 3 and cin <= room:
        return cin, cin, cin  # small depthwise
    return group, cin, cout


@st.composite
def _conv_shapes(draw: Any, transpose: bool = False) -> tuple[Any, ...]:
    spatial = draw(st.sampled_from([1, 2, 2, 3]))
    attrs = draw(_window(spatial, dilations=True))
    mins = attrs.pop("_min")
    sizes = [draw(st.integers(m, m + 4)) for m in mins]
    if spatial == 1 and draw(st.integers(0, 2)) == 0:
        sizes[0] = max(mins[0], draw(st.sampled_from(BLOCK_SIZES)))
    n = draw(st.integers(1, 3))
    while n > 1 and n * int(np.prod(sizes)) * 2 > CONV_ELEMENTS:
        n -= 1
    room = max(1, CONV_ELEMENTS // (n * int(np.prod(sizes))))
    group, cin, cout = _channels(draw, room)
    if n * cin * int(np.prod(sizes)) > CONV_ELEMENTS:  # a 3-D window left little room
        group, cin, cout = 1, 1, draw(st.integers(1, 3))
    if group > 1:
        attrs["group"] = group
    x = (n, cin, *sizes)
    k = attrs["kernel_shape"]
    if transpose:
        w = (cin, cout // group, *k)
        if "auto_pad" in attrs:  # SAME_* in ConvTranspose is rarely consistent between engines
            del attrs["auto_pad"]
        strides = attrs.get("strides", [1] * spatial)
        dil = attrs.get("dilations", [1] * spatial)
        if draw(st.booleans()):
            attrs["output_padding"] = [draw(st.integers(0, max(s, d) - 1)) for s, d in
                                       zip(strides, dil)]  # fmt: skip
    else:
        w = (cout, cin // group, *k)
    if draw(st.booleans()):
        del attrs["kernel_shape"]  # inferred from w
    b = (cout,) if draw(st.booleans()) else None
    return (x, w, b, attrs)


def _inner(ex: Example) -> int:
    w = ex.inputs[1]
    return max(1, int(np.prod(w.shape[1:]))) if w is not None else 1


def conv_edge(x: tuple, cout: int, k: tuple, group: int = 1, bias: bool = True, **attrs) -> Edge:
    """A Conv edge: input x, `cout` output channels, kernel k (weights (cout, cin/group, *k))."""
    w = (cout, x[1] // group, *k)
    if group > 1:
        attrs["group"] = group
    return ((x, w, (cout,) if bias else None, {"kernel_shape": list(k), **attrs}), None)


def transpose_edge(x: tuple, cout: int, k: tuple, group: int = 1, **attrs: Any) -> Edge:
    """A ConvTranspose edge: weights (cin, cout/group, *k)."""
    if group > 1:
        attrs["group"] = group
    return ((x, (x[1], cout // group, *k), (cout,), {"kernel_shape": list(k), **attrs}), None)


P1 = [1, 1, 1, 1]
CONV_EDGES: tuple[Edge, ...] = (
    # depthwise 3x3 around the 8/16/32/64-lane channel blocks
    *(conv_edge((1, c, 3, 4), c, (3, 3), group=c, pads=P1) for c in (7, 8, 9, 16, 17, 33, 65)),
    conv_edge((2, 17, 4, 3), 34, (3, 3), group=17, strides=[2, 2], pads=P1),  # multiplier 2
    conv_edge((1, 32, 3, 3), 16, (3, 3), group=4, pads=[0, 1, 1, 0]),  # grouped, 8 per group
    conv_edge((1, 18, 4, 4), 9, (1, 1), group=3),
    conv_edge((2, 17, 4, 4), 3, (3, 3), pads=[0, 1, 1, 0]),  # wide cin, asymmetric pads
    conv_edge((1, 3, 5, 5), 33, (3, 3), strides=[2, 1]),  # wide cout
    conv_edge((1, 9, 4, 4), 17, (1, 1)),  # 1x1: a plain GEMM of odd sizes
    conv_edge((2, 3, 65), 4, (3,), pads=[1, 2], strides=[2]),  # 1-D, long row
    conv_edge((1, 1, 33), 1, (5,), dilations=[3], bias=False),
    conv_edge((1, 2, 3, 4, 5), 3, (2, 2, 2), pads=[0, 1, 0, 1, 0, 1]),  # 3-D
    conv_edge((1, 2, 7, 7), 2, (2, 2), strides=[3, 3]),  # strides larger than the kernel
    conv_edge((1, 2, 5, 5), 4, (1, 1), strides=[2, 2]),
    conv_edge((1, 2, 6, 7), 3, (3, 3), dilations=[2, 2], pads=[2, 0, 1, 2]),
    conv_edge((1, 2, 5, 6), 2, (2, 3), strides=[2, 2], auto_pad="SAME_UPPER"),
    conv_edge((1, 2, 5, 6), 2, (2, 3), strides=[2, 2], auto_pad="SAME_LOWER"),
    conv_edge((3, 2, 5, 6), 2, (2, 3), strides=[2, 2], auto_pad="VALID"),
)
TRANSPOSE_EDGES: tuple[Edge, ...] = (
    *(transpose_edge((1, c, 3, 3), c, (3, 3), group=c, pads=P1) for c in (8, 9, 17, 33)),
    transpose_edge((2, 3, 3, 4), 17, (3, 3), strides=[2, 2], output_padding=[1, 0]),
    transpose_edge((1, 17, 3, 3), 2, (2, 2), strides=[3, 3]),  # strides larger than the kernel
    transpose_edge((1, 4, 3, 3), 4, (3, 3), group=2, dilations=[2, 1], pads=[0, 1, 1, 0]),
    transpose_edge((1, 2, 33), 3, (3,), strides=[2], pads=[1, 0]),
    transpose_edge((1, 2, 3, 3), 2, (3, 3), strides=[2, 2], output_shape=[7, 8]),
    transpose_edge((1, 1, 2, 2, 3), 2, (2, 2, 2), strides=[1, 2, 1]),
)

CONV_ARGS = (Arg("any"), Arg("any", const=True), Arg("any", const=True))
CASES: list[Case] = [
    Case(
        "Conv",
        CONV_ARGS,
        FLOATS,
        shapes=_conv_shapes(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=_inner,
        edges=CONV_EDGES,
    ),  # fmt: skip
    Case(
        "ConvTranspose",
        CONV_ARGS,
        FLOATS,
        shapes=_conv_shapes(transpose=True),
        attrs=_attrs_last,
        tol="matmul",
        reduced=_inner,
        edges=TRANSPOSE_EDGES,
    ),  # fmt: skip
]
