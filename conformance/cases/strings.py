"""String ops (StringConcat, RegexFullMatch, StringNormalizer, StringSplit) and the small
ai.onnx.ml table ops (LabelEncoder, ArrayFeatureExtractor).

String tensors are numpy object arrays drawn from a fixed vocabulary: empty strings, spaces at the
ends, mixed case, separators, a non-ASCII letter (whose case mapping every engine agrees on).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx
from ..values import broadcast, make, shapes
from ._edges import BINARY_EDGES, grid

WORDS = ("", "a", "Hello", "WORLD", "foo bar", " x ", "día", "a,b", "1,2,,3", "tab\tsep",
         "Foo", "foo", "abc123", "  ")  # fmt: skip
ML = "ai.onnx.ml"


def _strings(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    picks = rng.integers(0, len(WORDS), size=shape)
    return np.asarray(WORDS, dtype=object)[picks.reshape(-1)].reshape(shape)


def _text(index: int) -> Arg:
    return Arg(lambda c: None if c.shapes[index] is None else _strings(c.shapes[index], c.rng))


_PATTERNS = [r"[a-z]+", r"\w+", r"foo.*", r".*,.*", r"[A-Z][a-z]+", r"\s*x\s*", r"(a|abc)\d*"]


@st.composite
def _normalizer_attrs(draw: Any, shapes_: tuple[Any, ...]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    action = draw(st.sampled_from(["NONE", "LOWER", "UPPER", None]))
    if action:
        attrs["case_change_action"] = action
    if draw(st.booleans()):
        attrs["is_case_sensitive"] = draw(st.sampled_from([0, 1]))
    if draw(st.booleans()):
        attrs["stopwords"] = draw(st.lists(st.sampled_from(WORDS[1:]), min_size=1, max_size=3))
    return attrs


_SPLIT = st.sampled_from([{}, {"delimiter": ","}, {"delimiter": " "}, {"delimiter": ",,"},
                          {"delimiter": ",", "maxsplit": 1}, {"maxsplit": 0}])  # fmt: skip
CASES: list[Case] = [
    Case(
        "StringConcat",
        (_text(0), _text(1)),
        ("string",),
        shapes=broadcast(2, max_rank=3),
        tol="exact",
        edges=BINARY_EDGES[:6],
    ),  # fmt: skip
    Case(
        "RegexFullMatch",
        (_text(0),),
        ("string",),
        shapes=shapes(0, 3).map(lambda s: (s,)),
        tol="exact",
        attrs=lambda s: st.fixed_dictionaries({"pattern": st.sampled_from(_PATTERNS)}),
        edges=grid([((3, 17),)], pattern=_PATTERNS),
    ),  # fmt: skip
    Case(
        "StringNormalizer",
        (_text(0),),
        ("string",),
        tol="exact",
        shapes=st.integers(1, 6).flatmap(lambda c: st.sampled_from([((c,),), ((1, c),)])),
        attrs=lambda s: _normalizer_attrs(s),
        edges=grid(
            [((17,),), ((1, 9),)],
            case_change_action=["LOWER", "UPPER"],
            is_case_sensitive=[0, 1],
            stopwords=[["foo", "a"]],
        ),
    ),  # fmt: skip
    Case(
        "StringSplit",
        (_text(0),),
        ("string",),
        shapes=shapes(0, 2).map(lambda s: (s,)),
        tol="exact",
        outputs=2,
        attrs=lambda s: _SPLIT,
        edges=tuple(
            (((3, 17),), a)
            for a in (
                {},
                {"delimiter": ","},
                {"delimiter": " "},
                {"delimiter": ",,"},
                {"delimiter": ",", "maxsplit": 1},
                {"maxsplit": 0},
            )
        ),  # fmt: skip
    ),  # fmt: skip
]


# ---- ai.onnx.ml ----------------------------------------------------------------------------------
def _encoder_input(ctx: Ctx) -> np.ndarray:
    """Keys of the input's type mapped to values of the other one (attributes set here: they
    depend on the dtype under test)."""
    keys = ctx.draw(st.lists(st.sampled_from(WORDS[1:8]), min_size=1, max_size=5, unique=True))
    ints = list(range(len(keys)))
    if ctx.dtype == "string":
        ctx.attrs.update(keys_strings=keys, values_int64s=[10 * i for i in ints],
                         default_int64=-7)  # fmt: skip
        return _strings(ctx.shapes[0], ctx.rng)
    ctx.attrs.update(keys_int64s=ints, values_strings=keys, default_string="?")
    return ctx.rng.integers(-1, len(keys) + 1, size=ctx.shapes[0]).astype(np.int64)


def _encoder_input_1(ctx: Ctx) -> np.ndarray:
    """LabelEncoder-1: classes_strings maps strings to their index and indices to strings."""
    keys = ctx.draw(st.lists(st.sampled_from(WORDS[1:8]), min_size=1, max_size=5, unique=True))
    ctx.attrs.update(classes_strings=keys, default_int64=-7, default_string="?")
    if ctx.dtype == "string":
        return _strings(ctx.shapes[0], ctx.rng)
    return ctx.rng.integers(-1, len(keys) + 1, size=ctx.shapes[0]).astype(np.int64)


def _feature_indices(ctx: Ctx) -> np.ndarray:
    n = ctx.shapes[0][-1]
    return ctx.rng.integers(0, n, size=ctx.draw(st.integers(1, 4))).astype(np.int64)


def _features(ctx: Ctx) -> np.ndarray:
    if ctx.dtype == "string":
        return _strings(ctx.shapes[0], ctx.rng)
    return make("any", ctx.shapes[0], ctx.dtype, ctx.rng)


CASES += [
    Case(
        "LabelEncoder",
        (Arg(_encoder_input),),
        ("string", "int64"),
        domain=ML,
        tol="exact",
        shapes=shapes(0, 2).map(lambda s: (s,)),
        edges=grid([((65,),), ((3, 17),), ((),)]),
    ),  # fmt: skip
    *(
        Case(
            "LabelEncoder",
            (Arg(maker),),
            ("string", "int64"),
            domain=ML,
            tol="exact",
            shapes=shapes(0, 2).map(lambda s: (s,)),
            opset=v,
            variant=f"opset{v}",
            edges=grid([((65,),), ((3, 17),)]),
        )
        for v, maker in ((2, _encoder_input), (1, _encoder_input_1))
    ),  # fmt: skip
    Case(
        "ArrayFeatureExtractor",
        (Arg(_features), Arg(_feature_indices, dtype="int64")),
        ("float32", "float64", "int64", "string"),
        domain=ML,
        tol="exact",
        shapes=shapes(1, 3, min_side=1).map(lambda s: (s,)),
        edges=grid([((3, 17),), ((65,),), ((2, 2, 9),)]),
    ),  # fmt: skip
]
