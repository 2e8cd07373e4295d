"""Pooling: MaxPool, AveragePool, LpPool (every version, each with its own attributes), the
global pools.

Versions differ in what they accept: MaxPool 1 and 8 have no ceil_mode or dilations (8 adds the
indices output and storage_order), 10 adds both, 12 int8/uint8; AveragePool 7 has neither,
10 adds ceil_mode, 19 dilations; LpPool 2 has neither, 18 both. The edges enumerate, per version,
the windows where ceil_mode changes the output size, asymmetric pads, strides larger than the
kernel, dilations, auto_pad, count_include_pad, and BLOCK_SIZES channel counts and widths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Edge
from ..values import MAX_ELEMENTS, nchw
from ._build import F3, FLOATS
from .nn import _attrs_last, _window

# version -> (dilations, ceil_mode) accepted
FEATURES = {
    "MaxPool": {1: (False, False), 8: (False, False), 10: (True, True), 12: (True, True)},
    "AveragePool": {7: (False, False), 10: (False, True), 19: (True, True)},
    "LpPool": {2: (False, False), 18: (True, True)},
}
NEWEST = {"MaxPool": 12, "AveragePool": 19, "LpPool": 18}


@st.composite
def _pool_shapes(draw: Any, dilations: bool, ceil: bool, spatial: int | None = None) -> tuple:
    spatial = spatial or draw(st.sampled_from([1, 2, 2]))
    attrs = draw(_window(spatial, dilations=dilations))
    x = draw(nchw(spatial=spatial, max_c=3, max_hw=5))
    x = (*x[:2], *[max(h, m) for h, m in zip(x[2:], attrs.pop("_min"))])
    if ceil and draw(st.booleans()):
        attrs["ceil_mode"] = 1
    if int(np.prod(x)) > MAX_ELEMENTS:
        x = (1, min(x[1], 17), *x[2:])
    if int(np.prod(x)) > MAX_ELEMENTS:
        x = (1, 1, *x[2:])
    return (x, attrs)


# (x, window) pairs; ceil_mode, where the version has it, is tried both ways on each
WINDOWS: tuple[tuple[tuple[int, ...], dict[str, Any]], ...] = (
    ((1, 3, 6, 7), {"kernel_shape": [3, 3], "strides": [2, 2]}),  # (6-3)/2: floor 2, ceil 3
    ((2, 2, 5, 8), {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [0, 1, 1, 0]}),
    ((2, 3, 7), {"kernel_shape": [2], "strides": [2]}),
    ((1, 2, 7, 7), {"kernel_shape": [2, 2], "strides": [3, 3]}),  # strides larger than the kernel
    ((1, 2, 6, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ((1, 2, 5, 6), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 2, 5, 6), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ((1, 2, 5, 6), {"kernel_shape": [3, 2], "strides": [2, 1], "auto_pad": "VALID"}),
    ((1, 17, 4, 5), {"kernel_shape": [2, 2], "strides": [2, 2]}),  # channel blocks
    ((1, 33, 9), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    ((1, 65, 4), {"kernel_shape": [2], "strides": [1]}),
    ((1, 2, 33), {"kernel_shape": [3], "strides": [1]}),  # a long row
    ((2, 9, 3, 3), {"kernel_shape": [1, 1], "strides": [2, 2]}),
)
DILATED: tuple[tuple[tuple[int, ...], dict[str, Any]], ...] = (
    ((1, 2, 8, 9), {"kernel_shape": [3, 3], "strides": [2, 2], "dilations": [2, 2]}),
    ((1, 3, 9), {"kernel_shape": [2], "strides": [3], "dilations": [3], "pads": [0, 2]}),
)


def pool_edges(op: str, since: int) -> tuple[Edge, ...]:
    """The attribute table of one pooling op version."""
    dilations, ceil = FEATURES[op][since]
    windows = WINDOWS + (DILATED if dilations else ())
    out: list[Edge] = []
    for x, window in windows:
        for ceil_mode in (0, 1) if ceil and "auto_pad" not in window else (0,):
            attrs = {**window, **({"ceil_mode": 1} if ceil_mode else {})}
            if op == "AveragePool":
                for include in (0, 1) if "pads" in window or "auto_pad" in window else (0,):
                    out.append(((x, {**attrs, "count_include_pad": include}), None))
            elif op == "LpPool":
                out.append(((x, {**attrs, "p": 3 if len(out) % 2 else 2}), None))
            else:
                out.append(((x, attrs), None))
    return tuple(out)


def _pool(op: str, dtypes: tuple[str, ...], since: int, **extra: Any) -> Case:
    """The case of one version of a pooling op (the newest runs at the default opset)."""
    dilations, ceil = FEATURES[op][since]
    shapes = _pool_shapes(dilations=dilations, ceil=ceil)
    if extra:
        shapes = st.tuples(shapes, st.fixed_dictionaries(extra)).map(
            lambda t: (t[0][0], {**t[0][1], **t[1]})
        )
    newest = since == NEWEST[op]
    return Case(op, (Arg("any"),), dtypes, shapes=shapes, attrs=_attrs_last,
                opset=None if newest else max(since, 7),
                variant="" if newest else f"opset{max(since, 7)}",
                tol="exact" if op == "MaxPool" else "reduction", reduced=lambda ex: 9,
                edges=pool_edges(op, since), accumulate=op == "AveragePool")  # fmt: skip


def _indices_edges(since: int) -> tuple[Edge, ...]:
    """MaxPool with the indices output: no pads (the strategy's sizes assume none)."""
    plain = [e for e in pool_edges("MaxPool", since) if "pads" not in e[0][1]]
    plain = [e for e in plain if "auto_pad" not in e[0][1]]
    return tuple(plain) + tuple(((s[0], {**s[1], "storage_order": 1}), None) for s, _ in plain[:3])


def _indices(since: int) -> Case:
    dilations, ceil = FEATURES["MaxPool"][since]
    return Case(
        "MaxPool",
        (Arg("distinct"),),
        F3,
        outputs=2,
        variant="indices" if since == 12 else f"indices_opset{since}",
        opset=None if since == 12 else since,
        tol="exact",
        shapes=_pool_shapes(dilations=dilations, ceil=ceil).filter(
            lambda t: "pads" not in t[1] and "auto_pad" not in t[1]  # sizes assume their padding
        ),
        attrs=_attrs_last,
        edges=_indices_edges(since),
    )


_NCHW = st.sampled_from([1, 2, 3]).flatmap(lambda s: nchw(spatial=s)).map(lambda x: (x,))
_GLOBAL_X = ((1, 17, 3, 3), (2, 33, 2), (1, 65, 2, 2), (3, 8, 1, 1, 2), (1, 2, 9, 9), (2, 3, 1))
_GLOBAL_EDGES = tuple((((x,)), None) for x in _GLOBAL_X)

CASES: list[Case] = [
    _pool("MaxPool", FLOATS + ("int8", "uint8"), 12),
    _pool("MaxPool", F3, 10),
    _pool("MaxPool", F3, 8),
    _pool("MaxPool", F3, 1),
    _pool("AveragePool", FLOATS, 19, count_include_pad=st.sampled_from([0, 1])),
    _pool("AveragePool", F3, 10, count_include_pad=st.sampled_from([0, 1])),
    _pool("AveragePool", F3, 7),
    _pool("LpPool", F3, 18, p=st.sampled_from([1, 2, 3])),
    _pool("LpPool", F3, 2, p=st.sampled_from([1, 2, 3])),
    _indices(12),
    _indices(8),
    Case(
        "GlobalAveragePool",
        (Arg("any"),),
        FLOATS,
        shapes=_NCHW,
        tol="reduction",
        reduced=lambda ex: int(np.prod(ex.inputs[0].shape[2:])),
        edges=_GLOBAL_EDGES,
        accumulate=True,
    ),  # fmt: skip
    Case("GlobalMaxPool", (Arg("any"),), FLOATS, shapes=_NCHW, tol="exact", edges=_GLOBAL_EDGES),
    Case(
        "GlobalLpPool",
        (Arg("any"),),
        F3,
        shapes=_NCHW,
        tol="reduction",
        attrs=lambda s: st.fixed_dictionaries({"p": st.sampled_from([1, 2, 3])}),
        reduced=lambda ex: int(np.prod(ex.inputs[0].shape[2:])),
        edges=_GLOBAL_EDGES,
    ),  # fmt: skip
]
