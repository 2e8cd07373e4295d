"""VJPs of pooling, normalisation and the Softmax family against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.grad.grad_max_pool import max_pool_grad_1
from gossamer.refimpl.ops.op_average_pool import average_pool_19
from gossamer.refimpl.ops.op_batch_normalization import (
    batch_normalization_7,
    batch_normalization_9,
    batch_normalization_14,
)
from gossamer.refimpl.ops.op_global_average_pool import global_average_pool_1
from gossamer.refimpl.ops.op_layer_normalization import layer_normalization_17
from gossamer.refimpl.ops.op_log_softmax import log_softmax_1, log_softmax_13
from gossamer.refimpl.ops.op_max_pool import max_pool_12
from gossamer.refimpl.ops.op_softmax import softmax_1, softmax_13
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from ._fd import check_vjp, distinct, values

CHECKED = {"MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization"}
CHECKED |= {"LayerNormalization", "Softmax", "LogSoftmax"}
SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def pool_geometry(draw):
    rank = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    attrs = {
        "kernel_shape": kernel,
        "strides": [draw(st.integers(1, 2)) for _ in range(rank)],
        "dilations": [draw(st.integers(1, 2)) for _ in range(rank)],
        "ceil_mode": int(draw(st.booleans())),
    }
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "VALID"]))
    if auto_pad == "NOTSET":
        attrs["pads"] = [draw(st.integers(0, k - 1)) for k in kernel * 2]
    else:
        attrs["auto_pad"] = auto_pad
    extent = [(k - 1) * d + 1 for k, d in zip(kernel, attrs["dilations"])]
    spatial = [draw(st.integers(e, e + 3)) for e in extent]
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial), attrs


@given(geometry=pool_geometry(), seed=SEEDS)
def test_max_pool_matches_finite_differences(geometry, seed):
    shape, attrs = geometry
    check_vjp(max_pool_12, [distinct(np.random.default_rng(seed), shape)], attrs, seed=seed)


def test_max_pool_sends_a_tied_window_to_the_tap_the_forward_picks():
    x = np.ones((1, 1, 2, 4))
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    _, indices = max_pool_12(x, **attrs, num_outputs=2)
    (dx,) = max_pool_grad_1(np.array([[[[1.0, 2.0]]]]), x, **attrs)
    expected = np.zeros(x.size)
    expected[indices.ravel()] = [1.0, 2.0]
    assert dx.ravel().tolist() == expected.tolist() and indices.ravel().tolist() == [0, 2]


@pytest.mark.parametrize("count_include_pad", [0, 1])
@given(geometry=pool_geometry(), seed=SEEDS)
def test_average_pool_matches_finite_differences(count_include_pad, geometry, seed):
    shape, attrs = geometry
    attrs["count_include_pad"] = count_include_pad
    check_vjp(average_pool_19, [values(np.random.default_rng(seed), shape)], attrs, seed=seed)


@given(shape=array_shapes(min_dims=2, max_dims=4, max_side=3), seed=SEEDS)
def test_global_average_pool_matches_finite_differences(shape, seed):
    check_vjp(global_average_pool_1, [values(np.random.default_rng(seed), shape)], seed=seed)


def _bn_inputs(rng, shape):
    c = shape[1]
    return [values(rng, shape), values(rng, (c,)), values(rng, (c,)), values(rng, (c,)),
            rng.uniform(0.5, 2.0, c)]  # fmt: skip


@given(
    shape=array_shapes(min_dims=2, max_dims=4, max_side=3).filter(
        lambda s: s[0] * np.prod(s[2:]) > 1
    ),
    seed=SEEDS,
)
def test_batch_norm_training_mode_matches_finite_differences(shape, seed):
    inputs = _bn_inputs(np.random.default_rng(seed), shape)
    got = check_vjp(
        batch_normalization_14, inputs, {"training_mode": 1, "epsilon": 1e-3}, seed=seed
    )
    assert set(got) == {0, 1, 2}  # the running statistics do not reach y


@given(shape=array_shapes(min_dims=2, max_dims=4, max_side=3), seed=SEEDS)
def test_batch_norm_inference_differentiates_every_input(shape, seed):
    inputs = _bn_inputs(np.random.default_rng(seed), shape)
    got = check_vjp(batch_normalization_9, inputs, {"epsilon": 1e-3}, seed=seed)
    assert set(got) == {0, 1, 2, 3, 4}


@given(
    shape=array_shapes(min_dims=2, max_dims=4, max_side=3), spatial=st.integers(0, 1), seed=SEEDS
)
def test_batch_norm_7_per_channel_or_per_position(shape, spatial, seed):
    rng = np.random.default_rng(seed)
    stats = (shape[1],) if spatial else shape[1:]
    inputs = [values(rng, shape), *(values(rng, stats) for _ in range(3))]
    inputs.append(rng.uniform(0.5, 2.0, stats))
    got = check_vjp(batch_normalization_7, inputs, {"epsilon": 1e-3, "spatial": spatial}, seed=seed)
    assert set(got) == {0, 1, 2, 3, 4}


def test_batch_norm_training_updates_running_statistics_as_onnx_defines():
    rng = np.random.default_rng(0)
    x, scale, b, mean, var = _bn_inputs(rng, (4, 3, 2))
    _, running_mean, running_var = batch_normalization_14(
        x, scale, b, mean, var, training_mode=1, momentum=0.8
    )
    np.testing.assert_allclose(running_mean, 0.8 * mean + 0.2 * x.mean(axis=(0, 2)))
    np.testing.assert_allclose(running_var, 0.8 * var + 0.2 * x.var(axis=(0, 2)))


@st.composite
def layer_norm_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    normalised = shape[axis % len(shape) :]
    scale_shape = normalised[draw(st.integers(0, len(normalised))) :]
    return shape, axis, scale_shape, draw(st.booleans())


@given(case=layer_norm_case(), seed=SEEDS)
def test_layer_norm_matches_finite_differences(case, seed):
    shape, axis, scale_shape, bias = case
    rng = np.random.default_rng(seed)
    inputs = [values(rng, shape), values(rng, scale_shape)]
    inputs.append(values(rng, scale_shape) if bias else None)
    check_vjp(layer_normalization_17, inputs, {"axis": axis, "epsilon": 1e-3}, seed=seed)


@pytest.mark.parametrize(
    "forward", [softmax_13, log_softmax_13, softmax_1, log_softmax_1], ids=lambda f: f.__name__
)
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(), seed=SEEDS)
def test_softmax_family_matches_finite_differences_on_every_axis(forward, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_vjp(forward, [values(np.random.default_rng(seed), shape)], {"axis": axis}, seed=seed)
