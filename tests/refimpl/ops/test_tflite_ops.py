"""The tflite::* reference ops on their own: laws that tie them together, and typed errors for
parameters TFLite would refuse (LiteRT itself is the oracle in tests/converter/
test_tflite_int8_import.py)."""

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ops.op_tfl_add import tfl_add_1
from gossamer.refimpl.ops.op_tfl_conv_2d import tfl_conv_2d_1
from gossamer.refimpl.ops.op_tfl_fully_connected import tfl_fully_connected_1
from gossamer.refimpl.ops.op_tfl_mean import tfl_mean_1
from gossamer.refimpl.ops.op_tfl_quantize import tfl_quantize_1
from gossamer.refimpl.ops.op_tfl_requantize import tfl_requantize_1
from hypothesis import given, settings
from hypothesis import strategies as st

F, I = np.float32, np.int32


def _ints(rng, shape, dtype="int8"):
    info = np.iinfo(dtype)
    return rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 9), st.integers(1, 17), st.integers(1, 9))
def test_a_1x1_conv_is_a_fully_connected_layer_on_the_pixels(seed, pixels, c, o):
    rng = np.random.default_rng(seed)
    x, w = _ints(rng, (1, 1, pixels, c)), _ints(rng, (o, 1, 1, c))
    w_scale = rng.uniform(0.001, 0.05, o).astype(F)
    bias = rng.integers(-5000, 5000, o).astype(I)
    args = (F(0.05), I(-3), w_scale, I(0), F(0.1), I(4), bias)
    conv = tfl_conv_2d_1(x, args[0], args[1], w, *args[2:], activation="RELU")
    fc = tfl_fully_connected_1(x.reshape(pixels, c), args[0], args[1], w.reshape(o, c), *args[2:],
                               activation="RELU")  # fmt: skip
    assert np.array_equal(conv.reshape(pixels, o), fc)


@given(st.integers(-128, 127), st.floats(1e-3, 10.0))
def test_requantising_to_the_same_params_is_the_identity(zp, scale):
    x = np.arange(-128, 128).astype(np.int8)
    assert np.array_equal(tfl_requantize_1(x, F(scale), I(zp), F(scale), I(zp), to="int8"), x)


def test_add_is_symmetric_in_its_operands():
    rng = np.random.default_rng(0)
    a, b = _ints(rng, (3, 17)), _ints(rng, (17,))
    ab = tfl_add_1(a, F(0.1), I(3), b, F(0.03), I(-7), F(0.2), I(1))
    ba = tfl_add_1(b, F(0.03), I(-7), a, F(0.1), I(3), F(0.2), I(1))
    assert np.array_equal(ab, ba)


@pytest.mark.parametrize("scale", [0.0, -1.0, np.nan, np.inf])
def test_a_scale_that_is_not_finite_and_positive_is_an_op_argument_error(scale):
    x = np.zeros((1, 3, 3, 2), np.int8)
    w = np.zeros((4, 1, 1, 2), np.int8)
    with pytest.raises(OpArgumentError, match="scale"):
        tfl_conv_2d_1(x, F(scale), I(0), w, np.full(4, 0.1, F), I(0), F(0.1), I(0))


def test_per_channel_scales_must_match_the_output_channels():
    x = np.zeros((1, 3, 3, 2), np.int8)
    w = np.zeros((4, 1, 1, 2), np.int8)
    with pytest.raises(OpArgumentError, match="3 values for 4 channels"):
        tfl_conv_2d_1(x, F(0.1), I(0), w, np.full(3, 0.1, F), I(0), F(0.1), I(0))


def test_bad_attributes_are_op_argument_errors():
    x = np.zeros((1, 3, 3, 2), np.int8)
    w = np.zeros((4, 1, 1, 2), np.int8)
    with pytest.raises(OpArgumentError, match="padding"):
        tfl_conv_2d_1(x, F(0.1), I(0), w, F(0.1), I(0), F(0.1), I(0), padding="FULL")
    with pytest.raises(OpArgumentError, match="activation"):
        tfl_conv_2d_1(x, F(0.1), I(0), w, F(0.1), I(0), F(0.1), I(0), activation="TANH")
    with pytest.raises(OpArgumentError, match="axes"):
        tfl_mean_1(x, F(0.1), I(0), F(0.1), I(0), axes=[4])
    with pytest.raises(OpArgumentError, match="int8, uint8 or int16"):
        tfl_quantize_1(np.zeros(3, F), F(0.1), I(0), to="int32")
