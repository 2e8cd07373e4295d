"""Quantised LOG_SOFTMAX, SQUARED_DIFFERENCE, comparisons and per-channel QUANTIZE against
LiteRT's reference kernels (bit-exact), and what the importer refuses among them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import (  # noqa: E402
    FLOAT32,
    QUANTIZE,
    T,
    exact,
    ints,
    ours,
    q_model,
    qt,
    run_litert,
)

LOG_SOFTMAX, SQUARED_DIFFERENCE, BOOL = 50, 99, 6
LESS, GREATER, GREATER_EQUAL, LESS_EQUAL, EQUAL, NOT_EQUAL = 58, 61, 62, 63, 71, 72


def _log_softmax(dtype: str, shape, x_scale: float, x_zp: int) -> bytes:
    top = int(np.iinfo(dtype).max)
    return q_model(LOG_SOFTMAX, [qt("x", dtype, shape, x_scale, x_zp)],
                   [qt("y", dtype, shape, 16 / 256, top)], ("LogSoftmaxOptions", {}),
                   version=2)  # fmt: skip


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("x_scale", [0.0037, 0.02, 0.1, 0.5, 5.0, 40.0])
def test_log_softmax_matches_litert(dtype, x_scale):
    rng = np.random.default_rng(1)
    model = _log_softmax(dtype, (5, 33), x_scale, -3 if dtype == "int8" else 128)
    x = ints(rng, (5, 33), dtype)
    x[0] = np.iinfo(dtype).max  # a row of equal values: log(1 / 33) everywhere
    x[1, :] = np.iinfo(dtype).min
    x[1, 3] = np.iinfo(dtype).max  # one large value, the rest far below: the type's minimum
    exact(model, [x])


@settings(max_examples=20, deadline=None)
@given(x_scale=st.floats(0.001, 10.0), depth=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_log_softmax_matches_litert_on_drawn_scales_and_depths(x_scale, depth, seed):
    rng = np.random.default_rng(seed)
    model = _log_softmax("int8", (2, depth), x_scale, 0)
    exact(model, [ints(rng, (2, depth))])


def test_log_softmax_with_another_output_quantisation_is_refused_as_by_litert():
    model = q_model(LOG_SOFTMAX, [qt("x", "int8", (1, 4), 0.1, 0)],
                    [qt("y", "int8", (1, 4), 0.1, 0)], version=2)  # fmt: skip
    with pytest.raises(gossamer.UnsupportedModelError, match=r"\(16/256, 127\)"):
        gossamer.load(model)


@pytest.mark.parametrize(
    "a_shape, b_shape, scales, zps",
    [
        ((2, 5, 17), (2, 5, 17), (0.05, 0.02, 0.01), (-5, 9, -100)),
        ((3, 1, 8), (1, 5, 1), (0.1, 0.1, 0.3), (0, 0, -128)),
        ((4, 9), (9,), (0.02, 0.07, 0.5), (127, -128, 3)),
    ],
)
def test_squared_difference_matches_litert(a_shape, b_shape, scales, zps):
    rng = np.random.default_rng(4)
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    tensors = [qt("a", "int8", a_shape, scales[0], zps[0]), qt("b", "int8", b_shape, scales[1],
                                                                zps[1])]  # fmt: skip
    model = q_model(SQUARED_DIFFERENCE, tensors, [qt("y", "int8", out_shape, scales[2], zps[2])],
                    version=2)  # fmt: skip
    exact(model, [ints(rng, a_shape), ints(rng, b_shape)])


def test_uint8_squared_difference_is_refused_as_litert_has_no_kernel():
    tensors = [qt("a", "uint8", (4,), 0.1, 128), qt("b", "uint8", (4,), 0.1, 128)]
    model = q_model(SQUARED_DIFFERENCE, tensors, [qt("y", "uint8", (4,), 0.1, 0)], version=2)
    with pytest.raises(gossamer.UnsupportedModelError, match="SQUARED_DIFFERENCE"):
        gossamer.load(model)


def _comparison(code: int, dtype: str, a_shape, b_shape, scales, zps) -> bytes:
    out = T("y", BOOL, tuple(np.broadcast_shapes(a_shape, b_shape)))
    tensors = [qt("a", dtype, a_shape, scales[0], zps[0]), qt("b", dtype, b_shape, scales[1],
                                                               zps[1])]  # fmt: skip
    return q_model(code, tensors, [out], version=2)


@pytest.mark.parametrize("code", [LESS, GREATER, GREATER_EQUAL, LESS_EQUAL, EQUAL, NOT_EQUAL])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16"])
def test_comparisons_of_differently_quantised_inputs_match_litert(code, dtype):
    """Both sides are rescaled to one fixed point first, so comparing the raw integers would be
    wrong here (the zero points and scales differ); near-equal values test the rounding."""
    if dtype == "int16" and code in (GREATER, LESS_EQUAL):
        pytest.skip("LiteRT 2.3 registers int16 GREATER / LESS_EQUAL from version 3 on only")
    rng = np.random.default_rng(code)
    zps = (120, 131) if dtype == "uint8" else (3, -4)
    model = _comparison(code, dtype, (4, 17), (4, 17), (0.05, 0.0501), zps)
    a = ints(rng, (4, 17), dtype)
    b = ints(rng, (4, 17), dtype)
    info = np.iinfo(dtype)
    b[:2] = np.clip(a[:2].astype(np.int64) - zps[0] + zps[1], info.min, info.max)  # near-equal
    got = ours(model, [a, b])[0]
    theirs = run_litert(model, [a, b], "reference")[0]
    assert got.dtype == np.bool_ and np.array_equal(got, theirs)


@pytest.mark.parametrize("code", [LESS, EQUAL])
def test_comparisons_broadcast_as_litert_does(code):
    rng = np.random.default_rng(9)
    model = _comparison(code, "int8", (2, 3, 9), (9,), (0.02, 0.3), (-7, 1))
    exact(model, [ints(rng, (2, 3, 9)), ints(rng, (9,))])


def test_a_comparison_of_inputs_with_a_scale_of_one_or_more_is_refused():
    model = _comparison(LESS, "int8", (4,), (4,), (1.5, 0.1), (0, 0))
    with pytest.raises(gossamer.UnsupportedModelError, match="scale >= 1"):
        gossamer.load(model)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_per_channel_quantize_matches_litert(dtype, axis):
    rng = np.random.default_rng(axis)
    x = rng.uniform(-3, 3, (2, 3, 5)).astype(np.float32)
    x.reshape(-1)[0] = np.float32(2.5 * 0.0625)  # a tie, rounded away from zero
    n = x.shape[axis]
    scales = [0.0625, *rng.uniform(0.01, 0.05, n - 1)]
    zps = [0] * n if dtype == "int16" else list(rng.integers(-10, 10, n) + (dtype == "uint8") * 128)
    model = q_model(QUANTIZE, [qt("x", "float32", x.shape)],
                    [qt("y", dtype, x.shape, scales, zps, axis=axis)])  # fmt: skip
    exact(model, [x])


def test_per_channel_quantize_of_an_integer_tensor_is_refused():
    model = q_model(QUANTIZE, [qt("x", "int8", (2, 3), 0.1, 0)],
                    [qt("y", "int8", (2, 3), [0.1, 0.2, 0.3], 0, axis=1)])  # fmt: skip
    with pytest.raises(gossamer.UnsupportedModelError, match="per-channel QUANTIZE of int8"):
        gossamer.load(model)


def test_the_new_ops_have_inferred_shapes_and_dtypes():
    rng = np.random.default_rng(10)
    models = [
        _log_softmax("int8", (3, 7), 0.1, 0),
        _comparison(LESS, "int8", (2, 3, 9), (9,), (0.02, 0.3), (-7, 1)),
        q_model(SQUARED_DIFFERENCE,
                [qt("a", "int8", (3, 1), 0.1, 0), qt("b", "int8", (4,), 0.1, 0)],
                [qt("y", "int8", (3, 4), 0.1, 0)], version=2),
        q_model(QUANTIZE, [T("x", FLOAT32, (4, 3))],
                [qt("y", "int8", (4, 3), [0.1] * 3, 0, axis=1)]),
    ]  # fmt: skip
    for model in models:
        session = gossamer.load(model, optimize=0)
        feeds = [
            rng.uniform(-1, 1, v.shape).astype(np.float32) if v.dtype == "float32"
            else ints(rng, v.shape, v.dtype) for v in session.get_inputs()
        ]  # fmt: skip
        (got,) = ours(model, feeds)
        out = session.get_outputs()[0]
        assert (out.dtype, out.shape) == (str(got.dtype), got.shape)


@pytest.mark.parametrize(
    "src, dst, q_in, q_out",
    [
        ("int16", "int32", (0.001, 0), (0.0001, 0)),
        ("int16", "int32", (0.001, 3), (0.00002, -7)),  # a multiplier > 1: a left shift
        ("int32", "int8", (0.0001, 0), (0.05, -3)),
        ("int32", "int8", (0.02, 100), (0.05, 10)),  # large int32 values wrap as in C++
        ("int32", "int16", (0.00001, 5), (0.001, 0)),
    ],
)
def test_quantize_to_and_from_int32_matches_litert(src, dst, q_in, q_out):
    rng = np.random.default_rng(6)
    model = q_model(QUANTIZE, [qt("x", src, (4, 9), *q_in)], [qt("y", dst, (4, 9), *q_out)])
    if src == "int16":
        x = ints(rng, (4, 9), "int16")
    else:
        x = rng.integers(-(2**31), 2**31 - 1, (4, 9)).astype(np.int32)
        x[0] = rng.integers(-100000, 100000, 9)
    exact(model, [x])


def test_quantize_of_int32_to_uint8_is_refused_as_litert_has_no_kernel():
    model = q_model(QUANTIZE, [qt("x", "int32", (4,), 0.01, 0)], [qt("y", "uint8", (4,), 0.1, 0)])
    with pytest.raises(gossamer.UnsupportedModelError, match="int32 to uint8"):
        gossamer.load(model)
