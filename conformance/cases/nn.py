"""Conv, ConvTranspose, pooling, MatMul, Gemm, Einsum.

Shapes and attributes are drawn together (the shapes strategy returns the input shapes followed by
the attribute dict), so pads/strides/dilations/group always fit the input: every output dimension
is at least 1 and the channel counts divide by the group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Example
from ..values import MAX_ELEMENTS, broadcast, nchw
from ._build import F3, FLOATS, INTS

_NOATTR: Any = None


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
        out["strides"] = [draw(st.integers(1, 2)) for _ in range(spatial)]
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


@st.composite
def _conv_shapes(draw: Any, transpose: bool = False) -> tuple[Any, ...]:
    spatial = draw(st.sampled_from([1, 2, 2, 3]))
    attrs = draw(_window(spatial, dilations=True))
    sizes = [draw(st.integers(m, m + 4)) for m in attrs.pop("_min")]
    group = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = group * draw(st.integers(1, 2)), group * draw(st.integers(1, 3))
    if draw(st.integers(0, 4)) == 0:  # depthwise
        group, cout = cin, cin
    if group > 1:
        attrs["group"] = group
    n = draw(st.integers(1, 2))
    while n * cin * int(np.prod(sizes)) > MAX_ELEMENTS:
        sizes = [max(1, s - 1) for s in sizes]
        if spatial == 3:
            attrs = {"kernel_shape": [1, 1, 1], **({"group": group} if group > 1 else {})}
            break
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
    ),  # fmt: skip
    Case(
        "ConvTranspose",
        CONV_ARGS,
        FLOATS,
        shapes=_conv_shapes(transpose=True),
        attrs=_attrs_last,
        tol="matmul",
        reduced=_inner,
    ),  # fmt: skip
]


@st.composite
def _pool_shapes(draw: Any, dilations: bool, ceil: bool, spatial: int | None = None) -> tuple:
    spatial = spatial or draw(st.sampled_from([1, 2, 2]))
    attrs = draw(_window(spatial, dilations=dilations))
    x = draw(nchw(spatial=spatial, max_c=3, max_hw=5))
    x = (*x[:2], *[max(h, m) for h, m in zip(x[2:], attrs.pop("_min"))])
    if ceil and draw(st.booleans()):
        attrs["ceil_mode"] = 1
    if int(np.prod(x)) > MAX_ELEMENTS:
        x = (1, 1, *x[2:])
    return (x, attrs)


def _pool(op: str, dtypes: tuple[str, ...], opset: int | None = None, **extra: Any) -> Case:
    dil = opset is None or opset >= (10 if op == "MaxPool" else 19)
    shapes = _pool_shapes(dilations=dil and op != "LpPool", ceil=opset is None or opset >= 10)
    if extra:
        shapes = st.tuples(shapes, st.fixed_dictionaries(extra)).map(
            lambda t: (t[0][0], {**t[0][1], **t[1]})
        )
    return Case(op, (Arg("any"),), dtypes, shapes=shapes, attrs=_attrs_last, opset=opset,
                variant=f"opset{opset}" if opset else "", tol="exact" if op == "MaxPool" else
                "reduction", reduced=lambda ex: 9, special=op == "MaxPool")  # fmt: skip


_NCHW = st.sampled_from([1, 2]).flatmap(lambda s: nchw(spatial=s)).map(lambda x: (x,))
CASES += [
    _pool("MaxPool", FLOATS + ("int8", "uint8")),
    _pool("MaxPool", F3, opset=8),
    _pool("AveragePool", FLOATS, count_include_pad=st.sampled_from([0, 1])),
    _pool("AveragePool", F3, opset=7),
    _pool("LpPool", F3, p=st.sampled_from([1, 2, 3])),
    Case(
        "MaxPool",
        (Arg("distinct"),),
        F3,
        outputs=2,
        variant="indices",
        tol="exact",
        shapes=_pool_shapes(dilations=False, ceil=False).filter(
            lambda t: "pads" not in t[1] and "auto_pad" not in t[1]  # sizes assume their padding
        ),
        attrs=_attrs_last,
    ),  # fmt: skip
    Case(
        "GlobalAveragePool",
        (Arg("any"),),
        FLOATS,
        shapes=_NCHW,
        tol="reduction",
        reduced=lambda ex: int(np.prod(ex.inputs[0].shape[2:])),
    ),  # fmt: skip
    Case("GlobalMaxPool", (Arg("any"),), FLOATS, shapes=_NCHW, tol="exact", special=True),
    Case(
        "GlobalLpPool",
        (Arg("any"),),
        F3,
        shapes=_NCHW,
        tol="reduction",
        attrs=lambda s: st.fixed_dictionaries({"p": st.sampled_from([1, 2, 3])}),
        reduced=lambda ex: int(np.prod(ex.inputs[0].shape[2:])),
    ),  # fmt: skip
]


# ---- MatMul / Gemm / Einsum -------------------------------------------------------------------
@st.composite
def _matmul_shapes(draw: Any) -> tuple[Any, ...]:
    m, k, n = (draw(st.integers(0 if i else 1, 6)) for i in range(3))
    batch = draw(broadcast(2, max_rank=2, min_side=1))
    a = (*batch[0], m, k) if draw(st.integers(0, 5)) else (k,)
    b = (*batch[1], k, n) if draw(st.integers(0, 5)) else (k,)
    return (a, b)


def _k_of(ex: Example) -> int:
    return max(1, ex.inputs[0].shape[-1])


@st.composite
def _gemm_shapes(draw: Any) -> tuple[Any, ...]:
    m, k, n = (draw(st.integers(1, 8)) for _ in range(3))
    ta, tb = draw(st.sampled_from([0, 1])), draw(st.sampled_from([0, 1]))
    c = draw(st.sampled_from([(m, n), (n,), (1, n), (m, 1), (), None]))
    attrs = {"transA": ta, "transB": tb, "alpha": draw(st.sampled_from([1.0, 0.5, 2.0])),
             "beta": draw(st.sampled_from([1.0, 0.5, 0.0]))}  # fmt: skip
    return ((k, m) if ta else (m, k), (n, k) if tb else (k, n), c, attrs)


_EQUATIONS = {
    "ij,jk->ik": "ij jk", "bij,bjk->bik": "bij bjk", "ij->ji": "ij", "i,i->": "i i",
    "ii->i": "ii", "bhqd,bhkd->bhqk": "bhqd bhkd", "ij,j->i": "ij j", "ijk->": "ijk",
}  # fmt: skip


@st.composite
def _einsum_shapes(draw: Any) -> tuple[Any, ...]:
    eq = draw(st.sampled_from(sorted(_EQUATIONS)))
    size = {c: draw(st.integers(1, 4)) for c in "bhijkqd"}
    shapes = tuple(tuple(size[c] for c in term) for term in _EQUATIONS[eq].split())
    return (*shapes, *([None] * (2 - len(shapes))), {"equation": eq})


CASES += [
    Case(
        "MatMul",
        (Arg("any"), Arg("any")),
        FLOATS + ("int32", "int64"),
        shapes=_matmul_shapes(),
        tol="matmul",
        reduced=_k_of,
    ),  # fmt: skip
    Case(
        "Gemm",
        (Arg("any"), Arg("any", const=True), Arg("any", const=True)),
        FLOATS + ("int32", "int64"),
        shapes=_gemm_shapes(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: max(1, ex.inputs[0].shape[0 if ex.attrs["transA"] else 1]),
    ),  # fmt: skip
    Case(
        "Einsum",
        (Arg("any"), Arg("any")),
        F3 + ("int32", "int64"),
        shapes=_einsum_shapes(),
        attrs=_attrs_last,
        tol="matmul",
        reduced=lambda ex: 16,
    ),  # fmt: skip
]
_ = INTS
