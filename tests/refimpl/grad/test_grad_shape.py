"""VJPs of the data-movement ops, the reductions and Dropout against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.grad.grad_dropout import dropout_grad_12
from gossamer.refimpl.ops.op_concat import concat_4
from gossamer.refimpl.ops.op_dropout import dropout_12
from gossamer.refimpl.ops.op_flatten import flatten_1
from gossamer.refimpl.ops.op_gather import gather_1
from gossamer.refimpl.ops.op_pad import pad_2, pad_19
from gossamer.refimpl.ops.op_reduce_mean import reduce_mean_1, reduce_mean_18
from gossamer.refimpl.ops.op_reduce_sum import reduce_sum_1, reduce_sum_13
from gossamer.refimpl.ops.op_reshape import reshape_14
from gossamer.refimpl.ops.op_slice import slice_1, slice_10
from gossamer.refimpl.ops.op_split import split_18
from gossamer.refimpl.ops.op_transpose import transpose_1
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from ._fd import check_vjp, values

CHECKED = {"Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Gather", "Pad"}
CHECKED |= {"ReduceMean", "ReduceSum", "Dropout"}
SEEDS = st.integers(0, 2**32 - 1)
SHAPES = array_shapes(min_dims=1, max_dims=3, max_side=4)


@given(shape=SHAPES, seed=SEEDS)
def test_reshape_and_flatten(shape, seed):
    x = values(np.random.default_rng(seed), shape)
    check_vjp(reshape_14, [x, np.array([-1], np.int64)], seed=seed)
    check_vjp(flatten_1, [x], {"axis": len(shape) // 2}, seed=seed)


@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_transpose(shape, data, seed):
    perm = data.draw(st.permutations(range(len(shape))))
    x = values(np.random.default_rng(seed), shape)
    check_vjp(transpose_1, [x], {"perm": list(perm)}, seed=seed)
    check_vjp(transpose_1, [x], seed=seed)


@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_concat_gives_each_input_its_slice(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    rng = np.random.default_rng(seed)
    xs = [
        values(rng, shape[: axis % len(shape)] + (n,) + shape[axis % len(shape) + 1 :])
        for n in sizes
    ]
    assert len(check_vjp(concat_4, xs, {"axis": axis}, seed=seed)) == len(xs)


@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_split_joins_every_cotangent(shape, data, seed):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = values(np.random.default_rng(seed), shape)
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, shape[axis]))
        check_vjp(split_18, [x, np.array([cut, shape[axis] - cut])], {"axis": axis}, seed=seed)
    else:
        parts = data.draw(st.integers(1, shape[axis]))
        check_vjp(split_18, [x], {"axis": axis, "num_outputs": parts}, seed=seed)


@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_slice_with_negative_steps_and_clamped_bounds(shape, data, seed):
    axes = data.draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            min_size=1,
            max_size=len(shape),
            unique_by=lambda a: a % len(shape),
        )
    )
    starts = [data.draw(st.integers(-6, 6)) for _ in axes]
    ends = [data.draw(st.integers(-6, 6)) for _ in axes]
    steps = [data.draw(st.sampled_from([1, 2, -1, -2])) for _ in axes]
    x = values(np.random.default_rng(seed), shape)
    as_array = lambda v: np.array(v, np.int64)  # noqa: E731
    check_vjp(slice_10, [x, *map(as_array, (starts, ends, axes, steps))], seed=seed)


@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_slice_1_with_attribute_bounds(shape, data, seed):
    axes = data.draw(st.permutations(range(len(shape))))[: data.draw(st.integers(1, len(shape)))]
    attrs = {
        "starts": [data.draw(st.integers(-6, 6)) for _ in axes],
        "ends": [data.draw(st.integers(-6, 6)) for _ in axes],
        "axes": list(axes) if data.draw(st.booleans()) or len(axes) < len(shape) else None,
    }
    check_vjp(slice_1, [values(np.random.default_rng(seed), shape)], attrs, seed=seed)


@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_gather_accumulates_repeated_indices(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    idx_shape = data.draw(array_shapes(min_dims=0, max_dims=2, max_side=3))
    rng = np.random.default_rng(seed)
    indices = rng.integers(-n, n, idx_shape)
    check_vjp(gather_1, [values(rng, shape), indices], {"axis": axis}, seed=seed)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@given(
    shape=array_shapes(min_dims=1, max_dims=3, min_side=3, max_side=4), data=st.data(), seed=SEEDS
)
def test_pad_in_every_mode_with_crops(mode, shape, data, seed):
    low = -1 if mode != "reflect" else 0
    pads = [data.draw(st.integers(low, 2)) for _ in range(2 * len(shape))]
    rng = np.random.default_rng(seed)
    inputs = [values(rng, shape), np.array(pads, np.int64)]
    if mode == "constant":
        inputs.append(np.array(rng.uniform(-1, 1)))
    check_vjp(pad_19, inputs, {"mode": mode}, seed=seed)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@given(
    shape=array_shapes(min_dims=1, max_dims=3, min_side=3, max_side=4), data=st.data(), seed=SEEDS
)
def test_pad_2_with_attribute_pads(mode, shape, data, seed):
    pads = [data.draw(st.integers(0, 2)) for _ in range(2 * len(shape))]
    x = values(np.random.default_rng(seed), shape)
    check_vjp(pad_2, [x], {"mode": mode, "pads": pads, "value": 0.5}, seed=seed)


@pytest.mark.parametrize("forward", [reduce_sum_13, reduce_mean_18], ids=lambda f: f.__name__)
@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_reductions_with_axes_input(forward, shape, data, seed):
    axes = data.draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            max_size=len(shape),
            unique_by=lambda a: a % len(shape),
        )
    )
    attrs = {
        "keepdims": data.draw(st.integers(0, 1)),
        "noop_with_empty_axes": data.draw(st.integers(0, 1)),
    }
    x = values(np.random.default_rng(seed), shape)
    check_vjp(forward, [x, np.array(axes, np.int64)], attrs, seed=seed)


@pytest.mark.parametrize("forward", [reduce_sum_1, reduce_mean_1], ids=lambda f: f.__name__)
@given(shape=SHAPES, data=st.data(), seed=SEEDS)
def test_reductions_with_axes_attribute(forward, shape, data, seed):
    axes = data.draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            max_size=len(shape),
            unique_by=lambda a: a % len(shape),
        )
    )
    attrs = {"axes": axes or None, "keepdims": data.draw(st.integers(0, 1))}
    check_vjp(forward, [values(np.random.default_rng(seed), shape)], attrs, seed=seed)


@given(
    shape=SHAPES, ratio=st.sampled_from([0.0, 0.25, 0.5, 0.9]), training=st.booleans(), seed=SEEDS
)
def test_dropout_masks_and_scales_like_its_forward(shape, ratio, training, seed):
    x = values(np.random.default_rng(seed), shape)
    inputs = [x, np.array(ratio), np.array(training)]
    check_vjp(dropout_12, inputs, {"seed": seed % 1000}, seed=seed, skip=(1, 2))


def test_dropout_cotangent_is_zero_where_the_mask_dropped():
    x = np.ones((4, 8))
    _, mask = dropout_12(x, np.array(0.5), np.array(True), seed=1)
    (dx,) = dropout_grad_12(np.ones_like(x), mask, np.array(0.5), np.array(True))
    assert not mask.all() and (dx[~mask] == 0).all() and (dx[mask] == 2.0).all()
