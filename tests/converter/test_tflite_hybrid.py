"""Hybrid (dynamic-range quantised) FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D: float
activations, int8 weights, the input quantised per batch at run time. Bit-exact against LiteRT's
reference kernels (and its builtin ones where they share the code).

The weights are drawn from [-127, 127], as TFLite's symmetric weight quantiser writes them:
LiteRT's x86 SIMD dot product (_mm_maddubs_epi16 after moving the input's sign onto the weight
with _mm_sign_epi8) cannot negate -128, so a -128 weight gives wrong sums there."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import (  # noqa: E402
    CONV,
    DWCONV,
    FC,
    FLOAT32,
    RELU,
    RELU6,
    RELU_N1_TO_1,
    SAME,
    VALID,
    T,
    exact,
    ints,
    ours,
    q_model,
    qt,
    run_litert,
)

TANH = 4


def _weights(rng, shape) -> np.ndarray:
    return np.clip(ints(rng, shape), -127, 127).astype(np.int8)


def _x(rng, shape, scale=1.0, shift=0.0) -> np.ndarray:
    return (rng.normal(size=shape) * scale + shift).astype(np.float32)


def _fc(rng, n, k, batch, per_channel, asym, act=0, bias=True, out_shape=None, x_shape=None,
        keep=False) -> bytes:  # fmt: skip
    scales = list(rng.uniform(0.005, 0.02, n)) if per_channel else 0.01
    tensors = [T("x", FLOAT32, x_shape or (batch, k)),
               qt("w", "int8", (n, k), scales, 0, data=_weights(rng, (n, k)))]  # fmt: skip
    if bias:
        tensors.append(T("bias", FLOAT32, (n,), rng.normal(size=n).astype(np.float32)))
    options = {"fused_activation_function": act, "asymmetric_quantize_inputs": asym,
               "keep_num_dims": keep}  # fmt: skip
    return q_model(FC, tensors, [T("y", FLOAT32, out_shape or (batch, n))],
                   ("FullyConnectedOptions", options), version=3)  # fmt: skip


@pytest.mark.parametrize("asym", [False, True], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
@pytest.mark.parametrize("act", [0, RELU, RELU6, RELU_N1_TO_1])
def test_hybrid_fully_connected_matches_litert(asym, per_channel, act):
    rng = np.random.default_rng(act + 2 * asym + 4 * per_channel)
    model = _fc(rng, 9, 33, 3, per_channel, asym, act)
    x = _x(rng, (3, 33))
    x[1] = 0  # a zero row: scale 1, all zeros
    x[2] = np.abs(x[2])  # a positive row: the asymmetric range starts at 0
    exact(model, [x])
    for a, b in zip(ours(model, [x]), run_litert(model, [x], "builtin")):
        assert np.array_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 20),
    k=st.integers(1, 70),
    batch=st.integers(1, 4),
    asym=st.booleans(),
    per_channel=st.booleans(),
    magnitude=st.floats(-3, 3),
    shift=st.floats(-2, 2),
    seed=st.integers(0, 2**16),
)
def test_hybrid_fully_connected_matches_litert_on_drawn_shapes_and_ranges(
    n, k, batch, asym, per_channel, magnitude, shift, seed
):
    rng = np.random.default_rng(seed)
    model = _fc(rng, n, k, batch, per_channel, asym)
    scale = 10.0**magnitude
    exact(model, [_x(rng, (batch, k), scale, shift * scale)])


def test_hybrid_fully_connected_without_bias_and_with_keep_num_dims():
    rng = np.random.default_rng(3)
    exact(_fc(rng, 5, 8, 6, True, True, bias=False), [_x(rng, (6, 8))])
    model = _fc(rng, 5, 8, 0, False, True, x_shape=(2, 3, 8), out_shape=(2, 3, 5), keep=True)
    exact(model, [_x(rng, (2, 3, 8))])


def _conv(rng, code, x_shape, w_shape, out_shape, scales, padding=SAME, act=RELU, strides=(1, 1),
          dilations=(1, 1), multiplier=1) -> bytes:  # fmt: skip
    axis = 3 if code == DWCONV else 0
    tensors = [
        T("x", FLOAT32, x_shape),
        qt("w", "int8", w_shape, scales, 0, data=_weights(rng, w_shape), axis=axis),
        T("bias", FLOAT32, (w_shape[axis],), rng.normal(size=w_shape[axis]).astype(np.float32)),
    ]
    options = {"padding": padding, "stride_h": strides[0], "stride_w": strides[1],
               "dilation_h_factor": dilations[0], "dilation_w_factor": dilations[1],
               "fused_activation_function": act}  # fmt: skip
    if code == DWCONV:
        options["depth_multiplier"] = multiplier
    kind = "DepthwiseConv2DOptions" if code == DWCONV else "Conv2DOptions"
    return q_model(code, tensors, [T("y", FLOAT32, out_shape)], (kind, options), version=2)


@pytest.mark.parametrize(
    "per_channel", [False, True], ids=["one-scale-symmetric", "per-channel-asymmetric"]
)
@pytest.mark.parametrize(
    "x_shape, w_shape, out_shape, padding, strides, dilations",
    [
        ((2, 7, 6, 3), (8, 3, 3, 3), (2, 7, 6, 8), SAME, (1, 1), (1, 1)),
        ((2, 7, 6, 3), (8, 3, 3, 3), (2, 5, 4, 8), VALID, (1, 1), (1, 1)),
        ((1, 9, 9, 4), (6, 3, 2, 4), (1, 5, 5, 6), SAME, (2, 2), (1, 1)),
        ((1, 9, 9, 2), (5, 3, 3, 2), (1, 5, 5, 5), VALID, (1, 1), (2, 2)),
    ],
)
def test_hybrid_conv_2d_matches_litert(per_channel, x_shape, w_shape, out_shape, padding,
                                       strides, dilations):  # fmt: skip
    """Filter scales that differ take LiteRT's per-channel kernel (asymmetric input
    quantisation); one scale its per-tensor kernel (symmetric). Out-of-image taps add nothing."""
    rng = np.random.default_rng(sum(x_shape) + per_channel)
    scales = list(rng.uniform(0.005, 0.02, w_shape[0])) if per_channel else 0.01
    model = _conv(rng, CONV, x_shape, w_shape, out_shape, scales, padding, RELU, strides,
                  dilations)  # fmt: skip
    exact(model, [_x(rng, x_shape, 2.0, 0.5)])


def test_grouped_hybrid_conv_2d_matches_litert():
    rng = np.random.default_rng(21)
    scales = list(rng.uniform(0.005, 0.02, 6))
    model = _conv(rng, CONV, (1, 5, 5, 4), (6, 3, 3, 2), (1, 5, 5, 6), scales)
    exact(model, [_x(rng, (1, 5, 5, 4))])


@pytest.mark.parametrize(
    "x_shape, w_shape, out_shape, padding, strides, multiplier",
    [
        ((2, 7, 6, 4), (1, 3, 3, 8), (2, 7, 6, 8), SAME, (1, 1), 2),
        ((2, 7, 6, 4), (1, 3, 3, 8), (2, 5, 4, 8), VALID, (1, 1), 2),
        ((1, 9, 9, 5), (1, 3, 3, 5), (1, 5, 5, 5), SAME, (2, 2), 1),
    ],
)
def test_hybrid_depthwise_conv_2d_matches_litert(x_shape, w_shape, out_shape, padding, strides,
                                                 multiplier):  # fmt: skip
    rng = np.random.default_rng(sum(w_shape))
    scales = list(rng.uniform(0.005, 0.02, w_shape[3]))
    model = _conv(rng, DWCONV, x_shape, w_shape, out_shape, scales, padding, RELU6, strides,
                  multiplier=multiplier)  # fmt: skip
    exact(model, [_x(rng, x_shape, 3.0, -1.0)])


def test_hybrid_ops_litert_cannot_run_or_computes_approximately_are_refused_with_the_reason():
    rng = np.random.default_rng(15)
    tanh_fc = _fc(rng, 3, 8, 1, False, False, act=TANH)
    with pytest.raises(gossamer.UnsupportedModelError, match="hybrid FULLY_CONNECTED.*TANH"):
        gossamer.load(tanh_fc)
    one_scale_dw = _conv(rng, DWCONV, (1, 5, 5, 4), (1, 3, 3, 4), (1, 5, 5, 4), 0.01)
    with pytest.raises(gossamer.UnsupportedModelError, match="one filter scale"):
        gossamer.load(one_scale_dw)


def test_hybrid_ops_are_single_nodes_with_inferred_shapes():
    from gossamer.converter.tflite.import_graph import graph_from_tflite

    rng = np.random.default_rng(16)
    scales = list(rng.uniform(0.005, 0.02, 8))
    conv = _conv(rng, CONV, (2, 7, 6, 3), (8, 3, 3, 3), (2, 5, 4, 8), scales, VALID)
    assert [n.op_type for n in graph_from_tflite(conv).nodes] == ["HybridConv2D"]
    for model in (conv, _fc(rng, 9, 33, 3, True, True)):
        session = gossamer.load(model, optimize=0)
        feed = _x(rng, session.get_inputs()[0].shape)
        (got,) = ours(model, [feed])
        out = session.get_outputs()[0]
        assert (out.dtype, tuple(out.shape)) == (str(got.dtype), got.shape)


BATCH_MATMUL = 126


@pytest.mark.parametrize("asym", [False, True], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
@pytest.mark.parametrize(
    "a_shape, b_shape, adj",
    [
        ((3, 17), (17, 5), (False, False)),
        ((2, 4, 33), (33, 7), (False, False)),
        ((2, 4, 33), (2, 33, 7), (False, False)),
        ((2, 9, 4), (9, 6), (True, False)),
        ((4, 9), (6, 9), (False, True)),
        ((2, 2000), (2000, 3), (False, False)),  # sums past 2**24: rounded through float32
    ],
)
def test_hybrid_batch_matmul_matches_litert(asym, per_channel, a_shape, b_shape, adj):
    rng = np.random.default_rng(sum(a_shape) + 2 * asym + per_channel)
    n = b_shape[-2] if adj[1] else b_shape[-1]
    axis = len(b_shape) - (2 if adj[1] else 1)
    scales = list(rng.uniform(0.005, 0.02, n)) if per_channel else 0.01
    rows = a_shape[-1] if adj[0] else a_shape[-2]
    out = (*np.broadcast_shapes(a_shape[:-2], b_shape[:-2]), rows, n)
    weights = np.full(b_shape, 127, np.int8) if b_shape[-2] == 2000 else _weights(rng, b_shape)
    tensors = [T("x", FLOAT32, a_shape), qt("w", "int8", b_shape, scales, 0, data=weights,
                                            axis=axis)]  # fmt: skip
    options = {"adj_x": adj[0], "adj_y": adj[1], "asymmetric_quantize_inputs": asym}
    model = q_model(BATCH_MATMUL, tensors, [T("y", FLOAT32, out)],
                    ("BatchMatMulOptions", options))  # fmt: skip
    x = _x(rng, a_shape, 2.0, 0.3)
    if b_shape[-2] == 2000:
        x = rng.uniform(0.9, 1.0, a_shape).astype(np.float32)  # every product near the largest
    exact(model, [x])
