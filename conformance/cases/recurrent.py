"""Recurrent and attention ops: RNN, GRU, LSTM (both layouts, all directions), Attention,
RotaryEmbedding.

Shapes and attributes are drawn together (the shapes strategy ends with the attribute dict), so the
W/R/B/P shapes of each direction, sequence_lens, the initial states, the head counts and the caches
always fit one another. Weights are initializers (backends pack them at load).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..case import Arg, Case, Ctx, Example
from ..values import make
from ._build import F3, FLOATS

_DIRECTIONS = ["forward", "reverse", "bidirectional"]
_ACTS = ["Tanh", "Sigmoid", "Relu", "HardSigmoid", "Softsign"]


def _attrs_last(shapes_: tuple[Any, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just(dict(shapes_[-1]))


@st.composite
def _recurrent_shapes(draw: Any, gates: int, acts: int, lstm: bool, layout: bool) -> tuple:
    """(X, W, R, B, sequence_lens, initial_h[, initial_c, P], attrs)."""
    t, b, i, h = (draw(st.integers(1, 4)) for _ in range(4))
    if draw(st.integers(0, 2)) == 0:  # an input or hidden size past a SIMD block
        i, h = (
            draw(st.sampled_from((7, 8, 9, 15, 16, 17))) if k else v
            for k, v in zip(draw(st.sampled_from([(1, 0), (0, 1), (1, 1)])), (i, h))
        )
    direction = draw(st.sampled_from(_DIRECTIONS))
    d = 2 if direction == "bidirectional" else 1
    batch_major = layout and draw(st.booleans())
    attrs: dict[str, Any] = {"hidden_size": h}
    if direction != "forward" or draw(st.booleans()):
        attrs["direction"] = direction
    if batch_major:
        attrs["layout"] = 1
    if draw(st.integers(0, 3)) == 0:
        attrs["clip"] = draw(st.sampled_from([0.5, 2.0]))
    if draw(st.integers(0, 3)) == 0:
        attrs["activations"] = [draw(st.sampled_from(_ACTS)) for _ in range(acts * d)]
    if gates == 3 and draw(st.booleans()):
        attrs["linear_before_reset"] = 1
    if lstm and draw(st.integers(0, 4)) == 0:
        attrs["input_forget"] = 1

    def maybe(shape: tuple[int, ...]) -> tuple[int, ...] | None:
        return shape if draw(st.booleans()) else None

    state = (b, d, h) if batch_major else (d, b, h)
    shapes: list[Any] = [
        (b, t, i) if batch_major else (t, b, i),
        (d, gates * h, i),
        (d, gates * h, h),
        maybe((d, 2 * gates * h)),
        maybe((b,)),
        maybe(state),
    ]
    if lstm:
        shapes += [maybe(state), maybe((d, 3 * h))]
    return (*shapes, attrs)


def _lens(ctx: Ctx) -> np.ndarray | None:
    """sequence_lens: int32 in [1, T] per batch item."""
    if ctx.shapes[4] is None:
        return None
    x, batch_major = ctx.shapes[0], ctx.attrs.get("layout", 0)
    steps = x[1] if batch_major else x[0]
    return ctx.rng.integers(1, steps + 1, size=ctx.shapes[4]).astype(np.int32)


def _recurrent_reduced(ex: Example) -> int:
    x, h = ex.inputs[0], ex.attrs["hidden_size"]
    return (x.shape[-1] + h) * max(x.shape[:2])


def _recurrent_edges(gates: int, lstm: bool, layout: bool) -> tuple:
    """Hidden and input sizes around the SIMD blocks, every direction, all optional inputs."""
    out = []
    for t, b, i, h, direction, batch_major in ((3, 2, 17, 9, "forward", False),
                                               (2, 3, 4, 17, "bidirectional", False),
                                               (4, 1, 3, 8, "reverse", False),
                                               (2, 2, 16, 16, "forward", layout)):  # fmt: skip
        d = 2 if direction == "bidirectional" else 1
        state = (b, d, h) if batch_major else (d, b, h)
        shapes: list[Any] = [(b, t, i) if batch_major else (t, b, i), (d, gates * h, i),
                             (d, gates * h, h), (d, 2 * gates * h), (b,), state]  # fmt: skip
        if lstm:
            shapes += [state, (d, 3 * h)]
        attrs = {"hidden_size": h, "direction": direction, **({"layout": 1} if batch_major else {})}
        k = len(out)
        if gates == 3 and k % 2:
            attrs["linear_before_reset"] = 1
        if lstm and k == 2:
            attrs["input_forget"] = 1
        if k == 3:
            attrs["clip"] = 0.5
        out.append(((*shapes, attrs), None))
    return tuple(out)


def _recurrent(op: str, gates: int, acts: int, opset: int | None = None) -> Case:
    lstm = op == "LSTM"
    args = [Arg("any"), Arg("small", const=True), Arg("small", const=True),
            Arg("small", const=True), Arg(_lens, dtype="int32"), Arg("any")]  # fmt: skip
    if lstm:
        args += [Arg("any"), Arg("small", const=True)]
    return Case(
        op,
        tuple(args),
        FLOATS if opset is None else ("float32",),
        shapes=_recurrent_shapes(gates, acts, lstm, layout=opset is None),
        attrs=_attrs_last,
        outputs=3 if lstm else 2,
        opset=opset,
        variant=f"opset{opset}" if opset else "",
        tol="matmul",
        reduced=_recurrent_reduced,
        edges=_recurrent_edges(gates, lstm, layout=opset is None),
    )


CASES: list[Case] = [
    _recurrent("RNN", 1, 1),
    _recurrent("RNN", 1, 1, opset=7),
    _recurrent("GRU", 3, 2),
    _recurrent("GRU", 3, 2, opset=7),
    _recurrent("LSTM", 4, 3),
    _recurrent("LSTM", 4, 3, opset=7),
]


# ---- Attention ----------------------------------------------------------------------------------
@st.composite
def _attention_shapes(draw: Any, rank3: bool, past: bool | None, qk: bool) -> tuple:
    """(q, k, v, attn_mask, past_key, past_value, attrs); attrs carries `_mask` (its kind)."""
    b, kv_heads, group = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    q_heads = kv_heads * group
    sq, skv, head, head_v = (draw(st.integers(1, 4)) for _ in range(4))
    if draw(st.integers(0, 2)) == 0:  # a head size or key count past a SIMD block
        head, skv = draw(st.sampled_from((8, 9, 16, 17))), draw(st.sampled_from((4, 9, 17)))
    with_past = draw(st.booleans()) if past is None else past
    p = draw(st.integers(1, 3)) if with_past else 0
    attrs: dict[str, Any] = {}
    if rank3:
        attrs.update(q_num_heads=q_heads, kv_num_heads=kv_heads)
        q, k, v = (b, sq, q_heads * head), (b, skv, kv_heads * head), (b, skv, kv_heads * head_v)
    else:
        q, k, v = (b, q_heads, sq, head), (b, kv_heads, skv, head), (b, kv_heads, skv, head_v)
    if draw(st.booleans()):
        attrs["is_causal"] = 1
    if draw(st.integers(0, 2)) == 0:
        attrs["scale"] = draw(st.sampled_from([0.25, 1.0]))
    if draw(st.integers(0, 3)) == 0:
        attrs["softcap"] = draw(st.sampled_from([2.0, 10.0]))
    if qk:
        attrs["qk_matmul_output_mode"] = draw(st.integers(0, 3))
    total = skv + p
    mask_kind = draw(st.sampled_from(["none", "bool", "float"]))
    mask_shape = draw(st.sampled_from([(sq, total), (1, 1, sq, total), (b, q_heads, sq, total)]))
    attrs["_mask"] = mask_kind
    mask = None if mask_kind == "none" else mask_shape
    pk = (b, kv_heads, p, head) if with_past else None
    pv = (b, kv_heads, p, head_v) if with_past else None
    return (q, k, v, mask, pk, pv, attrs)


def _mask(ctx: Ctx) -> np.ndarray | None:
    kind, shape = ctx.attrs.pop("_mask"), ctx.shapes[3]
    if shape is None:
        return None
    if kind == "bool":  # key 0 always allowed: no fully masked row (engines differ on those)
        mask = ctx.rng.random(shape) < 0.7
        mask[..., 0] = True
        return mask
    return make("small", shape, ctx.dtype, ctx.rng)


_ATTENTION_ARGS = (Arg("any"), Arg("any"), Arg("any"), Arg(_mask), Arg("any"), Arg("any"))


def _head(ex: Example) -> int:
    k = ex.inputs[1]
    return max(1, k.shape[-1] // ex.attrs.get("kv_num_heads", 1)) * 4


def _attention_edges(rank3: bool, past: bool | None) -> tuple:
    """Head sizes around the SIMD blocks, grouped heads, causal with a cache, both mask kinds."""
    out = []
    for b, qh, kvh, sq, skv, head, p, attrs, mask in (
        (1, 2, 1, 3, 17, 16, 0, {"is_causal": 1}, "none"),
        (2, 2, 2, 2, 5, 17, 0, {"scale": 0.25}, "float"),
        (1, 4, 2, 3, 9, 8, 2, {"is_causal": 1}, "bool"),
    ):
        p = (2 if past else 0) if past is not None else p
        total = skv + p
        a = {**attrs, "_mask": mask}
        if rank3:
            a.update(q_num_heads=qh, kv_num_heads=kvh)
            q, k, v = (b, sq, qh * head), (b, skv, kvh * head), (b, skv, kvh * head)
        else:
            q, k, v = (b, qh, sq, head), (b, kvh, skv, head), (b, kvh, skv, head)
        cache = (b, kvh, p, head) if p else None
        out.append(((q, k, v, None if mask == "none" else (sq, total), cache, cache, a), None))
    return tuple(out)


def _attention(variant: str, rank3: bool, past: bool | None, outputs: int, qk: bool,
               opset: int | None = None) -> Case:  # fmt: skip
    return Case(
        "Attention",
        _ATTENTION_ARGS,
        FLOATS if not variant else F3,
        shapes=_attention_shapes(rank3, past, qk),
        attrs=_attrs_last,
        outputs=outputs,
        variant=variant,
        tol="matmul",
        reduced=_head,
        opset=opset,
        edges=_attention_edges(rank3, past),
    )


CASES += [
    _attention("", rank3=False, past=None, outputs=1, qk=False),
    _attention("3d_present", rank3=True, past=True, outputs=3, qk=False),
    _attention("qk_output", rank3=False, past=None, outputs=4, qk=True),
    _attention("opset24", rank3=False, past=None, outputs=1, qk=False, opset=24),
    _attention("opset23", rank3=False, past=None, outputs=1, qk=False, opset=23),
]


# ---- RotaryEmbedding ----------------------------------------------------------------------------
@st.composite
def _rotary_shapes(draw: Any) -> tuple:
    """(x, cos_cache, sin_cache, position_ids, attrs)."""
    b, heads, s = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    head = 2 * draw(st.integers(1, 4))
    rot = 2 * draw(st.integers(1, head // 2)) if draw(st.booleans()) else 0
    attrs: dict[str, Any] = {"interleaved": draw(st.sampled_from([0, 1]))}
    if rot:
        attrs["rotary_embedding_dim"] = rot
    if draw(st.booleans()):
        x = (b, s, heads * head)
        attrs["num_heads"] = heads
    else:
        x = (b, heads, s, head)
    half = (rot or head) // 2
    if draw(st.booleans()):
        positions = draw(st.integers(s, s + 4))
        return (x, (positions, half), (positions, half), (b, s), attrs)
    return (x, (b, s, half), (b, s, half), None, attrs)


def _positions(ctx: Ctx) -> np.ndarray | None:
    shape = ctx.shapes[3]
    if shape is None:
        return None
    return ctx.rng.integers(0, ctx.shapes[1][0], size=shape).astype(np.int64)


CASES += [
    Case(
        "RotaryEmbedding",
        (Arg("any"), Arg("unit"), Arg("unit"), Arg(_positions, dtype="int64")),
        FLOATS,
        shapes=_rotary_shapes(),
        attrs=_attrs_last,
        tol="default",
        edges=(
            (
                ((1, 3, 2 * 32), (1, 3, 16), (1, 3, 16), None, {"interleaved": 0, "num_heads": 2}),
                None,
            ),
            (((2, 2, 3, 34), (5, 17), (5, 17), (2, 3), {"interleaved": 1}), None),
            (
                (
                    (1, 1, 4, 32),
                    (1, 4, 8),
                    (1, 4, 8),
                    None,
                    {"interleaved": 0, "rotary_embedding_dim": 16},
                ),
                None,
            ),
        ),  # fmt: skip
    ),
]


# ---- state and cache updates: TensorScatter, CausalConvWithState --------------------------------
@st.composite
def _scatter_shapes(draw: Any) -> tuple:
    """(past_cache, update, write_indices, attrs): linear writes stay inside the cache."""
    rank = draw(st.sampled_from([3, 4]))
    shape = [draw(st.integers(1, 3)) for _ in range(rank)]
    axis = draw(st.integers(1, rank - 1))
    shape[axis] = max_len = draw(st.integers(1, 6))
    update = list(shape)
    update[axis] = draw(st.integers(0, max_len))
    attrs: dict[str, Any] = {"axis": draw(st.sampled_from([axis, axis - rank]))}
    if draw(st.booleans()):
        attrs["mode"] = draw(st.sampled_from(["linear", "circular"]))
    indices = (shape[0],) if draw(st.booleans()) else None
    return (tuple(shape), tuple(update), indices, attrs)


def _write_indices(ctx: Ctx) -> np.ndarray | None:
    past, update, shape = ctx.shapes[0], ctx.shapes[1], ctx.shapes[2]
    if shape is None:
        return None
    axis = ctx.attrs["axis"] % len(past)
    room = past[axis] - update[axis]
    high = past[axis] - 1 if ctx.attrs.get("mode") == "circular" else room
    return ctx.rng.integers(0, max(high, 0) + 1, size=shape).astype(np.int64)


@st.composite
def _causal_conv_shapes(draw: Any) -> tuple:
    b, c, t, k = (draw(st.integers(1, n)) for n in (2, 4, 6, 4))
    attrs = {"activation": draw(st.sampled_from(["none", "silu", "swish"]))}
    bias = (c,) if draw(st.booleans()) else None
    state = (b, c, k - 1) if draw(st.booleans()) else None
    return ((b, c, t), (c, 1, k), bias, state, attrs)


CASES += [
    Case(
        "TensorScatter",
        (Arg("any"), Arg("any"), Arg(_write_indices, dtype="int64")),
        FLOATS + ("int64", "int8", "bool"),
        shapes=_scatter_shapes(),
        attrs=_attrs_last,
        tol="exact",
        edges=(
            (((2, 17, 3), (2, 4, 3), (2,), {"axis": 1}), None),
            (((2, 3, 9, 4), (2, 3, 2, 4), (2,), {"axis": -2, "mode": "circular"}), None),
            (((1, 33, 2), (1, 33, 2), None, {"axis": 1, "mode": "linear"}), None),
        ),  # fmt: skip
    ),  # fmt: skip
    Case(
        "CausalConvWithState",
        (Arg("any"), Arg("any", const=True), Arg("any", const=True), Arg("any")),
        FLOATS,
        shapes=_causal_conv_shapes(),
        attrs=_attrs_last,
        edges=tuple(
            ((x, w, (w[0],), st_, {"activation": a}), None)
            for x, w, st_, a in (
                ((2, 17, 5), (17, 1, 4), (2, 17, 3), "silu"),
                ((1, 33, 3), (33, 1, 2), None, "none"),
                ((1, 8, 9), (8, 1, 3), (1, 8, 2), "swish"),
            )
        ),  # fmt: skip
        outputs=2,
        tol="matmul",
        reduced=lambda ex: ex.inputs[1].shape[2],
    ),  # fmt: skip
]
