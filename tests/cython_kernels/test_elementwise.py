"""Element-wise, pooling and normalisation kernels agree with the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import assert_close, assert_on_cython, one_node, run_both

BROADCASTS = [
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((2, 3, 4, 5), ()),
    ((2, 3, 4, 5), (5,)),
    ((2, 3, 4, 5), (1, 3, 1, 1)),
    ((2, 12, 7, 7), (2, 1, 1, 7)),
    ((4,), (3, 1, 4)),  # the first operand broadcasts: computed swapped
    ((1, 3, 1, 1), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("a_shape, b_shape", BROADCASTS)
def test_binary_ops_match_reference_for_common_broadcasts(op, a_shape, b_shape, simd, threads):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape, dtype=np.float32)
    b = rng.uniform(0.5, 2, b_shape).astype(np.float32)
    ours, ref, placement = run_both(one_node(op, {"a": a, "b": b}), {"a": a, "b": b}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref)


@pytest.mark.parametrize("op", ["Max", "Min"])
@pytest.mark.parametrize("a_shape, b_shape", BROADCASTS)
def test_max_min_of_two_match_reference_and_propagate_nan(op, a_shape, b_shape, simd, threads):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(a_shape, dtype=np.float32)
    b = rng.standard_normal(b_shape, dtype=np.float32)
    a.reshape(-1)[::7] = np.nan  # NaN on the left ...
    if b.size > 1:
        b.reshape(-1)[1::5] = np.nan  # ... and on the right
    ours, ref, placement = run_both(one_node(op, {"a": a, "b": b}), {"a": a, "b": b}, threads)
    assert_on_cython(placement)
    np.testing.assert_array_equal(ours[0], ref[0])  # exact, NaN where numpy has NaN


def test_max_of_three_inputs_is_declined():
    x = np.ones((2, 3), np.float32)
    feeds = {"a": x, "b": x, "c": x}
    _, _, placement = run_both(one_node("Max", feeds), feeds, 1)
    (reasons,) = placement.declined.values()
    assert reasons["cython"] == "3 inputs (the kernel takes two)"


def test_binary_op_where_both_operands_broadcast_is_declined():
    a, b = np.ones((3, 1), np.float32), np.ones((1, 4), np.float32)
    _, _, placement = run_both(one_node("Add", {"a": a, "b": b}), {"a": a, "b": b}, 1)
    (reasons,) = placement.declined.values()
    assert reasons["cython"] == "both operands broadcast"


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 40000))
def test_unary_ops_match_reference_including_nan(n, simd, threads):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 30
    x[0] = np.nan
    for op, attrs in [
        ("Relu", {}),
        ("Sigmoid", {}),
        ("Clip", {"opset": 6, "min": -1.0, "max": 2.0}),
    ]:
        model = one_node(op, {"x": x}, **attrs)
        ours, ref, placement = run_both(model, {"x": x}, threads)
        assert_on_cython(placement)
        assert_close(ours, ref, rtol=1e-6, atol=1e-7)


def test_clip_with_scalar_inputs_matches_reference(simd):
    x = np.linspace(-10, 10, 101, dtype=np.float32)
    consts = {"lo": np.array(-1.5, np.float32), "hi": np.array(6.0, np.float32)}
    ours, ref, placement = run_both(one_node("Clip", {"x": x}, consts), {"x": x}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=0, atol=0)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 12), st.integers(1, 12)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.integers(0, 2),
    ceil_mode=st.integers(0, 1),
    include_pad=st.integers(0, 1),
    is_max=st.booleans(),
)
def test_pools_match_reference(shape, kernel, strides, pad, ceil_mode, include_pad, is_max, simd,
                               threads):  # fmt: skip
    pads = [min(pad, k - 1) for k in kernel] * 2
    if any(s < k for s, k in zip(shape[2:], kernel)):
        return
    x = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
    attrs = {"kernel_shape": list(kernel), "strides": list(strides), "pads": pads,
             "ceil_mode": ceil_mode}  # fmt: skip
    op = "MaxPool" if is_max else "AveragePool"
    if not is_max:
        attrs["count_include_pad"] = include_pad
    ours, ref, placement = run_both(one_node(op, {"x": x}, **attrs), {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref)


def test_global_average_pool_and_batchnorm_match_reference(simd, threads):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 9, 11), dtype=np.float32)
    stats = {k: rng.uniform(0.5, 2, 6).astype(np.float32) for k in ("s", "b", "m", "v")}
    for op, consts in [("GlobalAveragePool", {}), ("BatchNormalization", stats)]:
        ours, ref, placement = run_both(one_node(op, {"x": x}, consts), {"x": x}, threads)
        assert_on_cython(placement)
        assert_close(ours, ref)


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("shape", [(3, 7), (2, 12, 5, 128), (1, 1)])
def test_softmax_over_the_last_axis_matches_reference(opset, shape, simd, threads):
    x = np.random.default_rng(3).standard_normal(shape, dtype=np.float32) * 10
    model = one_node("Softmax", {"x": x}, opset=opset, axis=len(shape) - 1)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "shape, axis",
    [((3, 4), 0), ((1, 16, 4, 2100), 1), ((2, 5, 17, 3), 1), ((2, 3, 33), -2), ((4, 1, 9), 1)],
)
def test_softmax_over_an_axis_before_the_last_matches_reference(shape, axis, level, threads):
    """Columns 16 at a time (the 2100- and 33-wide rows end in a partial block), no transpose."""
    x = np.random.default_rng(5).standard_normal(shape, dtype=np.float32) * 10
    x.reshape(-1)[::97] = 85.0  # exp near float32 overflow after the max shift
    model = one_node("Softmax", {"x": x}, opset=13, axis=axis)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-5, atol=1e-7)


def test_softmax_down_columns_keeps_nan_and_inf_in_their_own_columns():
    from gossamer.cython_kernels._native import ext

    x = np.random.default_rng(6).standard_normal((2, 5, 20), dtype=np.float32)
    x[0, 2, 3], x[1, 0, 17], x[1, :, 18] = np.nan, np.inf, -np.inf
    y = np.empty_like(x)
    with np.errstate(all="ignore"):
        ext().softmax_axis(x, y, 2)
        e = np.exp(x - np.max(np.where(np.isnan(x), -np.inf, x), axis=1, keepdims=True))
        want = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-7)
    assert np.isnan(y[0, :, 3]).all() and np.isnan(y[1, :, 18]).all()
    assert not np.isnan(np.delete(y[0], 3, axis=1)).any()


@pytest.mark.parametrize("with_bias", [True, False])
def test_layer_normalization_matches_reference_with_mean_and_inv_std(with_bias, simd, threads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 16, 384), dtype=np.float32) * 3 + 1
    consts = {"scale": rng.standard_normal(384, dtype=np.float32)}
    if with_bias:
        consts["b"] = rng.standard_normal(384, dtype=np.float32)
    model = one_node("LayerNormalization", {"x": x}, consts, n_outputs=3, epsilon=1e-5)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-4, atol=1e-5)
