"""The blocked-layout reference ops: reorders are exact inverses, NchwcConv is FusedConv between
them, and shape inference agrees with what the ops return."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.ops.op_fused_conv import fused_conv_1
from gossamer.refimpl.ops.op_nchwc_conv import nchwc_conv_1
from gossamer.refimpl.ops.op_nchwc_global_average_pool import nchwc_global_average_pool_1
from gossamer.refimpl.ops.op_nchwc_reorder_input import nchwc_reorder_input_1
from gossamer.refimpl.ops.op_nchwc_reorder_output import nchwc_reorder_output_1
from gossamer.refimpl.shape_inference import infer_shapes
from hypothesis import given
from hypothesis import strategies as st

RNG = np.random.default_rng(3)
F32 = np.float32


@given(
    st.integers(1, 2), st.integers(1, 3), st.sampled_from([4, 8, 16]), st.integers(1, 4),
    st.integers(1, 5),
)  # fmt: skip
def test_reorder_output_inverts_reorder_input(n, blocks, size, h, w):
    x = RNG.standard_normal((n, blocks * size, h, w)).astype(F32)
    y = nchwc_reorder_input_1(x, block_size=size)
    assert y.shape == (n, blocks, h, w, size)
    assert y[0, blocks - 1, h - 1, w - 1, size - 1] == x[0, blocks * size - 1, h - 1, w - 1]
    assert np.array_equal(nchwc_reorder_output_1(y), x)


def test_reorder_input_refuses_channels_not_a_multiple_of_the_block():
    with pytest.raises(OpArgumentError, match="multiple of block 8"):
        nchwc_reorder_input_1(np.zeros((1, 12, 2, 2), F32))


def test_nchwc_conv_is_fused_conv_between_reorders():
    x = RNG.standard_normal((1, 16, 6, 5)).astype(F32)
    w = RNG.standard_normal((8, 16, 3, 3)).astype(F32)
    b = RNG.standard_normal(8).astype(F32)
    attrs = {"pads": [1, 1, 1, 1], "activation": "Relu"}
    z = RNG.standard_normal((1, 8, 6, 5)).astype(F32)
    want = fused_conv_1(x, w, b, None, z, **attrs)
    xb, zb = nchwc_reorder_input_1(x), nchwc_reorder_input_1(z)
    assert np.array_equal(nchwc_reorder_output_1(nchwc_conv_1(xb, w, b, zb, **attrs)), want)
    # an NCHW input (a chain's first conv) gives the same blocked output
    assert np.array_equal(nchwc_conv_1(x, w, b, zb, **attrs), nchwc_conv_1(xb, w, b, zb, **attrs))


def test_global_average_pool_of_a_blocked_tensor_is_nchw():
    x = RNG.standard_normal((2, 16, 3, 4)).astype(F32)
    y = nchwc_global_average_pool_1(nchwc_reorder_input_1(x))
    np.testing.assert_allclose(y, x.mean(axis=(2, 3), keepdims=True), rtol=1e-6)


@pytest.mark.parametrize(
    "op,attrs,shape,want",
    [
        ("NchwcReorderInput", {}, (1, 16, 5, 4), (1, 2, 5, 4, 8)),
        ("NchwcReorderOutput", {}, (1, 2, 5, 4, 8), (1, 16, 5, 4)),
        ("NchwcGlobalAveragePool", {}, (1, 2, 5, 4, 8), (1, 16, 1, 1)),
        ("NchwcConv", {"strides": [2, 2], "pads": [1, 1, 1, 1]}, (1, 2, 5, 4, 8), (1, 3, 3, 2, 8)),
        ("NchwcConv", {"strides": [2, 2], "pads": [1, 1, 1, 1]}, (1, 16, 5, 4), (1, 3, 3, 2, 8)),
    ],
)
def test_shape_inference_matches_the_ops(op, attrs, shape, want):
    inits = {"w": np.zeros((24, 16, 3, 3), F32)} if op == "NchwcConv" else {}
    node = Node(op, ["x", *inits], ["y"], attrs, "n", "gossamer")
    graph = Graph([node], [Value("x", "float32", shape)], [Value("y", "float32")], inits,
                  opsets={"": 17, "gossamer": 1})  # fmt: skip
    assert infer_shapes(graph)["y"].shape == want


@pytest.mark.parametrize("scale_shape", [(1,), (16, 1, 1), (1, 16, 1, 1)])
def test_scale_and_shift_are_the_graphs_mul_then_add_after_the_activation(scale_shape):
    x = RNG.standard_normal((1, 8, 5, 6)).astype(F32)
    w = RNG.standard_normal((16, 8, 1, 1)).astype(F32)
    scale = RNG.standard_normal(scale_shape).astype(F32)
    shift = RNG.standard_normal((16, 1, 1)).astype(F32)
    y = nchwc_conv_1(x, w, None, None, scale, shift, activation="HardSwish")
    plain = fused_conv_1(x, w, activation="HardSwish")
    want = nchwc_reorder_input_1((plain * scale).astype(F32) + shift, block_size=8)
    assert y.dtype == F32 and np.array_equal(y, want)


@pytest.mark.parametrize("shape", [(16,), (2, 16, 1, 1), (1, 16, 5, 6, 1)])
def test_a_scale_that_would_grow_the_result_is_refused(shape):
    x = RNG.standard_normal((1, 8, 5, 6)).astype(F32)
    w = RNG.standard_normal((16, 8, 1, 1)).astype(F32)
    with pytest.raises(OpArgumentError, match="scale"):
        nchwc_conv_1(x, w, None, None, np.ones(shape, F32))
