"""int16 ADD / SUB / MUL (the general and the power-of-two-scale paths), int16 BATCH_MATMUL and
uint8 RESIZE_BILINEAR against LiteRT's reference kernels (bit-exact), and what the importer
refuses where LiteRT fails."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import (  # noqa: E402
    ADD,
    INT32,
    MUL,
    RELU,
    RELU6,
    SUB,
    T,
    exact,
    ints,
    q_model,
    qt,
)

BATCH_MATMUL, RESIZE_BILINEAR = 126, 23
OPTIONS = {ADD: "AddOptions", SUB: "SubOptions", MUL: "MulOptions"}
P = 2.0**-10  # a power-of-two scale


def _arith(code, a_shape, b_shape, scales, pot=True, act=0, zps=(0, 0, 0)) -> bytes:
    out = np.broadcast_shapes(a_shape, b_shape)
    options = {"fused_activation_function": act}
    if code != MUL:
        options["pot_scale_int16"] = pot
    tensors = [qt("a", "int16", a_shape, scales[0], zps[0]),
               qt("b", "int16", b_shape, scales[1], zps[1])]  # fmt: skip
    return q_model(code, tensors, [qt("y", "int16", out, scales[2], zps[2])],
                   (OPTIONS[code], options), version=3)  # fmt: skip


def _feeds(rng, *shapes):
    return [ints(rng, s, "int16") for s in shapes]


@pytest.mark.parametrize("code", [ADD, SUB])
@pytest.mark.parametrize(
    "scales",
    [(P, P, P), (P / 4, P, P), (P, P / 2, P), (P / 8, P / 8, P / 8)],
    ids=["equal", "a-down-2", "b-down-1", "all-2^-13"],
)
@pytest.mark.parametrize("act", [0, RELU, RELU6])
def test_power_of_two_int16_add_sub_match_litert(code, scales, act):
    """Both scales and the output's powers of two: one input is rounding-shifted down to the
    output's scale, then a saturating int16 sum (or difference)."""
    rng = np.random.default_rng(code + act)
    model = _arith(code, (3, 17), (3, 17), scales, act=act)
    exact(model, _feeds(rng, (3, 17), (3, 17)))


def test_power_of_two_int16_sub_broadcasts_as_litert_does():
    rng = np.random.default_rng(5)
    exact(_arith(SUB, (2, 3, 17), (17,), (P / 2, P, P)), _feeds(rng, (2, 3, 17), (17,)))


@pytest.mark.parametrize("code", [ADD, SUB])
@pytest.mark.parametrize("pot", [True, False])
@pytest.mark.parametrize(
    "a_shape, b_shape, scales",
    [
        ((3, 17), (3, 17), (0.0003, 0.0007, 0.001)),
        ((2, 3, 17), (17,), (0.0003, 0.0007, 0.001)),
        ((4, 9), (4, 1), (P, P, 2 * P)),  # powers of two that LiteRT's POT path refuses
    ],
)
def test_general_scale_int16_add_sub_match_litert(code, pot, a_shape, b_shape, scales):
    """Scales that are not all powers of two (or pot_scale_int16 off) take the 8-bit kernels'
    fixed point with a left shift of 15."""
    if pot and scales[2] == 2 * P:
        pytest.skip("the power-of-two path would shift both inputs: refused, below")
    rng = np.random.default_rng(7)
    exact(_arith(code, a_shape, b_shape, scales, pot=pot), _feeds(rng, a_shape, b_shape))


@settings(max_examples=25, deadline=None)
@given(
    code=st.sampled_from([ADD, SUB]),
    scales=st.tuples(*[st.floats(1e-5, 0.01)] * 3),
    seed=st.integers(0, 2**16),
)
def test_general_int16_add_sub_match_litert_on_drawn_scales(code, scales, seed):
    scales = (scales[0], scales[1], max(scales[:2]) * (0.5 + scales[2] * 100))
    rng = np.random.default_rng(seed)
    exact(_arith(code, (3, 17), (17,), scales, pot=False), _feeds(rng, (3, 17), (17,)))


@pytest.mark.parametrize("shapes", [((3, 17), (3, 17)), ((2, 3, 17), (17,))])
@pytest.mark.parametrize("scales", [(P, P, 2**-5 * P), (0.0003, 0.0007, 0.00001)])
@pytest.mark.parametrize("act", [0, RELU])
def test_int16_mul_matches_litert(shapes, scales, act):
    rng = np.random.default_rng(9)
    exact(_arith(MUL, *shapes, scales, act=act), _feeds(rng, *shapes))


@pytest.mark.parametrize(
    "code, a_shape, b_shape, scales, pot, zps, match",
    [
        (ADD, (4,), (4,), (P, P, 2 * P), True, (0, 0, 0), "rescales one input only"),
        (SUB, (4,), (4,), (P, P, P / 2), True, (0, 0, 0), "only down"),
        (ADD, (2, 4), (4,), (P, P, P), True, (0, 0, 0), "broadcasting power-of-two"),
        (ADD, (4,), (4,), (0.001, 0.001, 0.001), False, (1, 0, 0), "non-zero zero point"),
        (MUL, (4,), (4,), (0.001, 0.001, 0.001), True, (0, 0, 2), "non-zero zero point"),
        (SUB, (4,), (4,), (0.001, 0.002, 0.003), False, (5, -9, 3), "non-zero zero point"),
    ],
)
def test_int16_arithmetic_litert_refuses_is_refused(code, a_shape, b_shape, scales, pot, zps,
                                                    match):  # fmt: skip
    model = _arith(code, a_shape, b_shape, scales, pot=pot, zps=zps)
    with pytest.raises(gossamer.UnsupportedModelError, match=match):
        gossamer.load(model)


def _bmm(a_shape, b_shape, out_shape, b_dtype="int16", adj=(False, False), zp=0) -> bytes:
    tensors = [qt("a", "int16", a_shape, 0.001, 0), qt("b", b_dtype, b_shape, 0.002, zp)]
    options = ("BatchMatMulOptions", {"adj_x": adj[0], "adj_y": adj[1]})
    return q_model(BATCH_MATMUL, tensors, [qt("y", "int16", out_shape, 0.05, 0)], options,
                   version=4)  # fmt: skip


@pytest.mark.parametrize("b_dtype", ["int16", "int8"])
@pytest.mark.parametrize(
    "a_shape, b_shape, out_shape, adj",
    [
        ((2, 3, 17), (2, 17, 5), (2, 3, 5), (False, False)),
        ((3, 9, 33), (3, 4, 33), (3, 9, 4), (False, True)),
        ((2, 9, 7), (2, 9, 65), (2, 7, 65), (True, False)),
        ((2, 4, 65), (65, 7), (2, 4, 7), (False, False)),
    ],
)
def test_int16_batch_matmul_matches_litert(b_dtype, a_shape, b_shape, out_shape, adj):
    rng = np.random.default_rng(11)
    model = _bmm(a_shape, b_shape, out_shape, b_dtype, adj)
    exact(model, [ints(rng, a_shape, "int16"), ints(rng, b_shape, b_dtype)])


def test_int16_batch_matmul_with_a_zero_point_is_refused_as_by_litert():
    with pytest.raises(gossamer.UnsupportedModelError, match="non-zero zero point"):
        gossamer.load(_bmm((2, 3), (3, 2), (2, 2), zp=4))


@pytest.mark.parametrize(
    "x_shape, size, align, half",
    [
        ((1, 4, 5, 3), (8, 10), False, False),
        ((2, 3, 3, 9), (7, 5), True, False),
        ((1, 5, 4, 2), (3, 9), False, True),
        ((1, 7, 7, 3), (2, 3), True, False),
        ((1, 1, 1, 4), (3, 3), False, True),
    ],
)
def test_uint8_resize_bilinear_matches_litert(x_shape, size, align, half):
    """uint8 goes through the reference kernel's float32 interpolation, + 0.5, truncated."""
    rng = np.random.default_rng(12)
    tensors = [
        qt("x", "uint8", x_shape, 0.1, 128),
        T("size", INT32, (2,), np.array(size, np.int32)),
    ]
    out = qt("y", "uint8", (x_shape[0], *size, x_shape[3]), 0.1, 128)
    options = ("ResizeBilinearOptions", {"align_corners": align, "half_pixel_centers": half})
    exact(q_model(RESIZE_BILINEAR, tensors, [out], options), [ints(rng, x_shape, "uint8")])
