"""The gossamer-domain ops the optimiser emits compute exactly what the unfused ops compute."""

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ops.op_conv import conv_1
from gossamer.refimpl.ops.op_fused_conv import fused_conv_1
from gossamer.refimpl.ops.op_fused_gelu import gelu_1
from gossamer.refimpl.ops.op_fused_gemm import fused_gemm_1
from gossamer.refimpl.ops.op_fused_layer_normalization import layer_normalization_1
from gossamer.refimpl.ops.op_fused_mat_mul import fused_mat_mul_1
from gossamer.refimpl.ops.op_fused_swish import swish_1
from gossamer.refimpl.ops.op_gelu import gelu_20
from gossamer.refimpl.ops.op_gemm import gemm_11
from gossamer.refimpl.ops.op_layer_normalization import layer_normalization_17
from gossamer.refimpl.ops.op_leaky_relu import leaky_relu_6
from gossamer.refimpl.ops.op_mul import mul_7
from gossamer.refimpl.ops.op_prelu import prelu_7
from gossamer.refimpl.ops.op_relu import relu_6
from gossamer.refimpl.ops.op_sigmoid import sigmoid_6
from gossamer.refimpl.registry import default_registry

RNG = np.random.default_rng(2)
X = RNG.standard_normal((1, 3, 6, 6)).astype(np.float32)
W = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
B = RNG.standard_normal(4).astype(np.float32)


def test_every_fused_op_is_registered_in_the_gossamer_domain():
    names = {op for domain, op in default_registry().op_types() if domain == "gossamer"}
    assert {"FusedConv", "FusedGemm", "FusedMatMul", "Gelu", "Swish", "LayerNormalization"} <= names


def test_fused_conv_without_activation_is_conv():
    np.testing.assert_array_equal(
        fused_conv_1(X, W, B, pads=[1] * 4), conv_1(X, W, B, pads=[1] * 4)
    )


def test_fused_conv_leaky_relu_is_conv_then_leaky_relu():
    expected = leaky_relu_6(conv_1(X, W, B), alpha=0.3)
    got = fused_conv_1(X, W, B, activation="LeakyRelu", activation_params=[0.3])
    np.testing.assert_array_equal(got, expected)


def test_fused_conv_prelu_takes_the_slope_as_its_fourth_input():
    slope = RNG.random((4, 1, 1)).astype(np.float32)
    got = fused_conv_1(X, W, None, slope, activation="PRelu")
    np.testing.assert_array_equal(got, prelu_7(conv_1(X, W), slope))


def test_fused_conv_clip_with_infinite_bound_keeps_infinities():
    x = X.copy()
    x[0, 0, 0, 0] = np.inf
    w = np.ones((1, 3, 1, 1), np.float32)
    got = fused_conv_1(x, w, activation="Clip", activation_params=[0.0, np.inf])
    assert np.isposinf(got[0, 0, 0, 0])


def test_fused_gemm_relu_is_gemm_then_relu():
    a, b, c = (RNG.standard_normal(s).astype(np.float32) for s in ((2, 3), (4, 3), (4,)))
    got = fused_gemm_1(a, b, c, transB=1, alpha=0.5, activation="Relu")
    np.testing.assert_array_equal(got, relu_6(gemm_11(a, b, c, transB=1, alpha=0.5)))


def test_fused_matmul_swish_is_matmul_add_then_x_times_sigmoid():
    a, b, bias = (RNG.standard_normal(s).astype(np.float32) for s in ((2, 5, 3), (3, 4), (4,)))
    y = np.matmul(a, b) + bias
    got = fused_mat_mul_1(a, b, bias, activation="Swish", activation_params=[1.0])
    np.testing.assert_array_equal(got, mul_7(y, sigmoid_6(y)))


def test_fused_matmul_gelu_is_matmul_then_gelu():
    a, b = (RNG.standard_normal(s).astype(np.float32) for s in ((2, 3), (3, 4)))
    np.testing.assert_array_equal(fused_mat_mul_1(a, b, activation="Gelu"), gelu_20(a @ b))


def test_unknown_activation_is_an_op_argument_error():
    with pytest.raises(OpArgumentError, match="unknown fused activation"):
        fused_conv_1(X, W, activation="Tanhh")


def test_wrong_number_of_activation_params_is_an_op_argument_error():
    with pytest.raises(OpArgumentError, match="takes 2 activation_params"):
        fused_conv_1(X, W, activation="Clip", activation_params=[0.0])


def test_prelu_without_slope_is_an_op_argument_error():
    with pytest.raises(OpArgumentError, match="slope"):
        fused_conv_1(X, W, activation="PRelu")


def test_gossamer_gelu_swish_and_layernorm_match_their_onnx_definitions():
    x = RNG.standard_normal((2, 3, 8)).astype(np.float32)
    g, b = RNG.standard_normal(8).astype(np.float32), RNG.standard_normal(8).astype(np.float32)
    np.testing.assert_array_equal(gelu_1(x), gelu_20(x))
    np.testing.assert_array_equal(swish_1(x), mul_7(x, sigmoid_6(x)))
    for ours, theirs in zip(layer_normalization_1(x, g, b), layer_normalization_17(x, g, b)):
        np.testing.assert_array_equal(ours, theirs)
