"""The second slice's tflite::* reference ops on their own: laws that tie them to each other or to
float maths, and typed errors for parameters TFLite refuses (LiteRT is the oracle in
tests/converter/test_tflite_int8_more.py, test_tflite_int16_more.py, test_tflite_hybrid.py)."""

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ops._tflite_hybrid import asymmetric_quantize, symmetric_quantize
from gossamer.refimpl.ops._tflite_log import count_leading_zeros, log_x_for_x_ge_1
from gossamer.refimpl.ops.op_tfl_add_int16 import tfl_add_int16_1
from gossamer.refimpl.ops.op_tfl_compare import tfl_compare_1
from gossamer.refimpl.ops.op_tfl_hybrid_conv_2d import tfl_hybrid_conv_2d_1
from gossamer.refimpl.ops.op_tfl_hybrid_fully_connected import tfl_hybrid_fully_connected_1
from gossamer.refimpl.ops.op_tfl_log_softmax import tfl_log_softmax_1
from gossamer.refimpl.ops.op_tfl_quantize import tfl_quantize_1
from gossamer.refimpl.ops.op_tfl_quantize_per_channel import tfl_quantize_per_channel_1
from gossamer.refimpl.ops.op_tfl_requantize_int32 import tfl_requantize_int32_1
from gossamer.refimpl.ops.op_tfl_squared_difference import tfl_squared_difference_1
from hypothesis import given, settings
from hypothesis import strategies as st

F, I = np.float32, np.int32


def _ints(rng, shape, dtype="int8"):
    info = np.iinfo(dtype)
    return rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


def test_count_leading_zeros_is_clz_of_uint32():
    values = np.array([0, 1, 2, 3, 255, 2**30, 2**31 - 1, -1, -(2**31)], np.int64)
    expected = [32, 31, 30, 30, 24, 1, 1, 0, 0]
    assert count_leading_zeros(values).tolist() == expected


@given(st.floats(1.0, 4000.0))
def test_the_fixed_point_log_is_close_to_log(x):
    raw = np.int64(round(x * 2**19))  # a Q12.19 number
    got = log_x_for_x_ge_1(raw, 12, 5) / 2.0**26  # a Q5.26 number
    assert abs(float(got) - np.log(raw / 2.0**19)) < 2e-6


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([0.02, 0.1, 0.5]))
def test_log_softmax_is_close_to_the_float_log_softmax(seed, x_scale):
    rng = np.random.default_rng(seed)
    x = _ints(rng, (3, 17))
    got = (tfl_log_softmax_1(x, F(x_scale)).astype(np.float64) - 127) / 16
    real = x.astype(np.float64) * x_scale
    expected = real - real.max(-1, keepdims=True)
    expected -= np.log(np.exp(expected).sum(-1, keepdims=True))
    inside = expected > -255 / 16 + 1 / 16  # the output's range, (16/256, 127)
    assert np.all(np.abs(got - expected)[inside] <= 1 / 16 + 1e-6)


def test_log_softmax_refuses_a_scale_it_cannot_represent():
    with pytest.raises(OpArgumentError, match="x_scale"):
        tfl_log_softmax_1(np.zeros((1, 4), np.int8), F(1e-9))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16))
def test_squared_difference_is_symmetric_and_zero_on_equal_inputs(seed):
    rng = np.random.default_rng(seed)
    a, b = _ints(rng, (4, 9)), _ints(rng, (4, 9))
    args = (F(0.05), I(-3))
    out = (F(0.02), I(-128))
    ab = tfl_squared_difference_1(a, *args, b, *args, *out)
    assert np.array_equal(ab, tfl_squared_difference_1(b, *args, a, *args, *out))
    assert np.all(tfl_squared_difference_1(a, *args, a, *args, *out) == -128)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from(["int8", "uint8", "int16"]))
def test_comparisons_are_consistent_with_each_other(seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = _ints(rng, (3, 17), dtype), _ints(rng, (17,), dtype)
    qa, qb = (F(0.05), I(3)), (F(0.0501), I(-4))

    def cmp(kind, x, px, y, py):
        return tfl_compare_1(x, *px, y, *py, comparison=kind)

    less, equal = cmp("LESS", a, qa, b, qb), cmp("EQUAL", a, qa, b, qb)
    assert np.array_equal(cmp("LESS_EQUAL", a, qa, b, qb), less | equal)
    assert np.array_equal(cmp("NOT_EQUAL", a, qa, b, qb), ~equal)
    assert not np.any(less & cmp("LESS", b, qb, a, qa))


def test_compare_refuses_an_unknown_comparison_and_a_scale_of_one():
    x = np.zeros(4, np.int8)
    with pytest.raises(OpArgumentError, match="unknown comparison"):
        tfl_compare_1(x, F(0.1), I(0), x, F(0.1), I(0), comparison="GREATER")
    with pytest.raises(OpArgumentError, match="a_scale < 1"):
        tfl_compare_1(x, F(1.0), I(0), x, F(0.1), I(0))


@given(st.integers(0, 2**16))
def test_a_power_of_two_int16_add_of_equal_scales_is_a_saturating_add(seed):
    rng = np.random.default_rng(seed)
    a, b = _ints(rng, (65,), "int16"), _ints(rng, (65,), "int16")
    s, z = F(2.0**-10), I(0)
    got = tfl_add_int16_1(a, s, z, b, s, z, s, z)
    assert np.array_equal(got, np.clip(a.astype(int) + b, -(2**15), 2**15 - 1))


def test_int16_add_refuses_zero_points_and_two_rescaled_inputs():
    x, s = np.zeros(4, np.int16), F(2.0**-10)
    with pytest.raises(OpArgumentError, match="zero points 0"):
        tfl_add_int16_1(x, s, I(1), x, s, I(0), s, I(0))
    with pytest.raises(OpArgumentError, match="at most one input"):
        tfl_add_int16_1(x, s, I(0), x, s, I(0), F(2 * s), I(0))


@given(st.integers(0, 2**16), st.integers(0, 2))
def test_per_channel_quantize_is_quantize_per_slice(seed, axis):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, (3, 4, 5)).astype(F)
    n = x.shape[axis]
    scales, zps = rng.uniform(0.01, 0.1, n).astype(F), rng.integers(-5, 5, n).astype(I)
    got = tfl_quantize_per_channel_1(x, scales, zps, axis=axis, to="int8")
    for c in range(n):
        expected = tfl_quantize_1(np.take(x, [c], axis), scales[c], zps[c], to="int8")
        assert np.array_equal(np.take(got, [c], axis), expected)


def test_requantize_int32_has_no_int32_to_int32():
    with pytest.raises(OpArgumentError, match="int32 -> int32"):
        tfl_requantize_int32_1(np.zeros(3, np.int32), F(0.1), I(0), F(0.1), I(0), to="int32")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.floats(-3, 3))
def test_the_run_time_quantisers_round_trip_within_half_a_step(seed, magnitude):
    rng = np.random.default_rng(seed)
    rows = (rng.normal(size=(3, 40)) * 10.0**magnitude).astype(F)
    q, s = symmetric_quantize(rows)
    assert np.all(np.abs(q * s[:, None] - rows) <= 0.5001 * s[:, None])
    q, s, zp = asymmetric_quantize(rows)
    assert np.all(
        np.abs((q.astype(np.int64) - zp[:, None]) * s[:, None] - rows) <= 0.51 * s[:, None]
    )


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16), st.integers(0, 1))
def test_hybrid_fully_connected_is_close_to_the_float_product(seed, asym):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 33)).astype(F)
    w = np.clip(_ints(rng, (5, 33)), -127, 127).astype(np.int8)
    w_scale = rng.uniform(0.005, 0.02, 5).astype(F)
    got = tfl_hybrid_fully_connected_1(x, w, w_scale, asymmetric_quantize_inputs=asym)
    expected = x.astype(np.float64) @ (w * w_scale[:, None]).T.astype(np.float64)
    step = np.abs(x).max(axis=1, keepdims=True) / 127 * 2  # the input's quantisation step
    bound = 33 * 127 * w_scale.max() * step  # every term off by at most half a step
    assert np.all(np.abs(got - expected) <= bound)


def test_hybrid_conv_refuses_non_int8_weights_and_one_scale_for_groups():
    x = np.zeros((1, 3, 3, 4), F)
    with pytest.raises(OpArgumentError, match="int8"):
        tfl_hybrid_conv_2d_1(x, np.zeros((2, 1, 1, 4), np.uint8), F(0.1))
    with pytest.raises(OpArgumentError, match="grouped hybrid conv"):
        tfl_hybrid_conv_2d_1(x, np.zeros((2, 1, 1, 2), np.int8), F(0.1))
