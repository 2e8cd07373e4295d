"""VJPs of the element-wise ops and activations against finite differences, with broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_clip import clip_6, clip_11
from gossamer.refimpl.ops.op_div import div_7
from gossamer.refimpl.ops.op_exp import exp_6
from gossamer.refimpl.ops.op_gelu import gelu_20
from gossamer.refimpl.ops.op_hard_swish import hard_swish_14
from gossamer.refimpl.ops.op_leaky_relu import leaky_relu_6
from gossamer.refimpl.ops.op_log import log_6
from gossamer.refimpl.ops.op_mul import mul_7
from gossamer.refimpl.ops.op_pow import pow_7
from gossamer.refimpl.ops.op_prelu import prelu_7
from gossamer.refimpl.ops.op_relu import relu_6
from gossamer.refimpl.ops.op_sigmoid import sigmoid_6
from gossamer.refimpl.ops.op_sqrt import sqrt_6
from gossamer.refimpl.ops.op_sub import sub_7
from gossamer.refimpl.ops.op_tanh import tanh_6
from gossamer.refimpl.ops.op_where import where_9
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from ._fd import away_from, check_vjp, values

CHECKED = {"Add", "Sub", "Mul", "Div", "Pow", "Where", "Clip", "Relu", "LeakyRelu", "PRelu"}
CHECKED |= {"Sigmoid", "Tanh", "HardSwish", "Gelu", "Sqrt", "Exp", "Log"}

SEEDS = st.integers(0, 2**32 - 1)
PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
ONE = array_shapes(min_dims=0, max_dims=3, max_side=4)


def _operands(shapes, seed: int) -> tuple[np.random.Generator, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return rng, [values(rng, s) for s in shapes.input_shapes]


@pytest.mark.parametrize("forward", [add_7, sub_7, mul_7], ids=lambda f: f.__name__)
@given(shapes=PAIRS, seed=SEEDS)
def test_broadcast_arithmetic_matches_finite_differences(forward, shapes, seed):
    _, xs = _operands(shapes, seed)
    got = check_vjp(forward, xs, seed=seed)
    assert set(got) == {0, 1}


@given(shapes=PAIRS, seed=SEEDS)
def test_div_matches_finite_differences(shapes, seed):
    rng, (a, _) = _operands(shapes, seed)
    b = rng.uniform(0.5, 2.0, shapes.input_shapes[1]) * rng.choice([-1, 1], shapes.input_shapes[1])
    check_vjp(div_7, [a, b], seed=seed)


@given(shapes=PAIRS, seed=SEEDS)
def test_pow_differentiates_base_and_exponent(shapes, seed):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 2.0, shapes.input_shapes[0])
    exponent = rng.uniform(-2.0, 2.0, shapes.input_shapes[1])
    assert set(check_vjp(pow_7, [base, exponent], seed=seed)) == {0, 1}


def test_pow_exponent_cotangent_is_zero_at_a_zero_base():
    from gossamer.refimpl.grad.grad_pow import pow_grad_7

    _, dexp = pow_grad_7(np.ones(2), np.array([0.0, 2.0]), np.array([2.0, 2.0]))
    assert dexp is not None and dexp[0] == 0.0 and dexp[1] == pytest.approx(4 * np.log(2))


@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=SEEDS)
def test_where_routes_the_cotangent_by_condition(shapes, seed):
    rng = np.random.default_rng(seed)
    cond = rng.random(shapes.input_shapes[0]) < 0.5
    x, y = (values(rng, s) for s in shapes.input_shapes[1:])
    assert set(check_vjp(where_9, [cond, x, y], seed=seed)) == {1, 2}


@given(shape=ONE, seed=SEEDS, bounds=st.sampled_from([(-0.5, 0.7), (-1.0, None), (None, 0.3)]))
def test_clip_differentiates_x_and_its_bounds(shape, seed, bounds):
    rng = np.random.default_rng(seed)
    kinks = [b for b in bounds if b is not None]
    x = away_from(values(rng, shape), kinks)
    lo, hi = (None if b is None else np.array(b) for b in bounds)
    check_vjp(clip_11, [x, lo, hi], seed=seed)


def test_clip_with_min_above_max_sends_every_cotangent_to_max():
    from gossamer.refimpl.grad.grad_clip import clip_grad_11

    dx, dlo, dhi = clip_grad_11(
        np.ones(3), np.array([-1.0, 0.5, 2.0]), np.array(1.0), np.array(0.0)
    )
    assert dx.tolist() == [0, 0, 0] and dlo == 0 and dhi == 3


@given(shape=ONE, seed=SEEDS)
def test_clip_6_attribute_bounds(shape, seed):
    x = away_from(values(np.random.default_rng(seed), shape), [-0.5, 0.5])
    check_vjp(clip_6, [x], {"min": -0.5, "max": 0.5}, seed=seed)


UNARY = [
    (relu_6, {}, [0.0]),
    (leaky_relu_6, {"alpha": 0.2}, [0.0]),
    (sigmoid_6, {}, []),
    (tanh_6, {}, []),
    (hard_swish_14, {}, [-3.0, 3.0]),
    (gelu_20, {}, []),
    (gelu_20, {"approximate": "tanh"}, []),
    (exp_6, {}, []),
]


@pytest.mark.parametrize(
    ("forward", "attrs", "kinks"), UNARY, ids=lambda v: getattr(v, "__name__", str(v))
)
@given(shape=ONE, seed=SEEDS)
def test_unary_activation_matches_finite_differences(forward, attrs, kinks, shape, seed):
    x = away_from(values(np.random.default_rng(seed), shape, -4, 4), kinks)
    check_vjp(forward, [x], attrs, seed=seed)


@pytest.mark.parametrize("forward", [sqrt_6, log_6], ids=lambda f: f.__name__)
@given(shape=ONE, seed=SEEDS)
def test_positive_domain_ops_match_finite_differences(forward, shape, seed):
    check_vjp(forward, [np.random.default_rng(seed).uniform(0.2, 3.0, shape)], seed=seed)


@given(shapes=PAIRS.filter(lambda s: len(s.input_shapes[1]) <= len(s.result_shape)), seed=SEEDS)
def test_prelu_differentiates_x_and_a_broadcast_slope(shapes, seed):
    rng = np.random.default_rng(seed)
    x = away_from(values(rng, shapes.result_shape), [0.0])
    slope = values(rng, shapes.input_shapes[1])
    assert set(check_vjp(prelu_7, [x, slope], seed=seed)) == {0, 1}


def test_float32_inputs_get_float32_cotangents():
    from gossamer.refimpl.grad.grad_mul import mul_grad_7

    da, db = mul_grad_7(
        np.ones((2, 3), np.float32), np.ones((2, 3), np.float32), np.ones(3, np.float32)
    )
    assert da.dtype == db.dtype == np.float32 and db.shape == (3,) and db.tolist() == [2, 2, 2]
