"""The element-wise and normalisation backward kernels (cython_kernels/grad_elementwise_kernels.py)
compute what the reference VJPs compute, and decline what they do not run."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.grad_elementwise_kernels import (
    GradElementwiseKernels,
    layer_norm_grad,
    sum_to,
)
from gossamer.plugins import RuntimeDecline
from gossamer.refimpl.grad.contract import unbroadcast
from gossamer.refimpl.grad.grad_add import add_grad_7
from gossamer.refimpl.grad.grad_global_average_pool import global_average_pool_grad_1
from gossamer.refimpl.grad.grad_layer_normalization import layer_normalization_grad_17
from gossamer.refimpl.grad.grad_log_softmax import log_softmax_grad_1, log_softmax_grad_13
from gossamer.refimpl.grad.grad_mul import mul_grad_7
from gossamer.refimpl.grad.grad_relu import relu_grad_6
from gossamer.refimpl.grad.grad_sigmoid import sigmoid_grad_6
from gossamer.refimpl.grad.grad_softmax import softmax_grad_1, softmax_grad_13
from gossamer.refimpl.grad.grad_sub import sub_grad_7
from gossamer.refimpl.grad.grad_tanh import tanh_grad_6

F32 = np.float32
KERNELS = GradElementwiseKernels.kernels
RNG = np.random.default_rng(0)


def _r(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(F32)


def _close(got, want, rtol=1e-5, atol=1e-5):
    for g, r in zip(got, want):
        assert (g is None) == (r is None)
        if r is not None:
            assert g.shape == r.shape and g.dtype == F32
            np.testing.assert_allclose(g, r, rtol=rtol, atol=atol)


# (a shape, b shape): same, a bias over the last axis, over the last two, per channel, a scalar,
# stretched middle axes (the generic sum), both broadcast, empty
BROADCASTS = [
    ((4, 5), (4, 5)), ((2, 7, 16), (16,)), ((3, 4, 6), (4, 6)), ((2, 8, 5, 5), (1, 8, 1, 1)),
    ((3, 4), ()), ((2, 3, 4), (2, 1, 4)), ((3, 1, 5), (1, 4, 1)), ((0, 3), (3,)),
]  # fmt: skip


@pytest.mark.parametrize("a_shape,b_shape", BROADCASTS + [(b, a) for a, b in BROADCASTS])
def test_sum_to_is_the_references_unbroadcast(a_shape, b_shape):
    g = _r(*np.broadcast_shapes(a_shape, b_shape))
    for shape in (a_shape, b_shape):
        got = sum_to(g, shape)
        assert got.shape == tuple(shape)
        np.testing.assert_allclose(got, unbroadcast(g, shape), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reference", [add_grad_7, sub_grad_7, mul_grad_7])
@pytest.mark.parametrize("a_shape,b_shape", BROADCASTS)
def test_binary_grads_match_the_reference(reference, a_shape, b_shape):
    a, b = _r(*a_shape), _r(*b_shape)
    dy = _r(*np.broadcast_shapes(a_shape, b_shape))
    _close(KERNELS[reference].fn(dy, a, b), reference(dy, a, b))


@pytest.mark.parametrize("reference", [relu_grad_6, sigmoid_grad_6, tanh_grad_6])
@pytest.mark.parametrize("shape", [(3, 7), (), (0, 2)])
def test_unary_grads_match_the_reference_exactly_with_nan(reference, shape):
    x, dy = _r(*shape), _r(*shape)
    if x.size:
        x.flat[0], dy.flat[-1] = np.nan, np.nan  # NaN x, and a NaN cotangent where x may be < 0
    got, want = KERNELS[reference].fn(dy, x)[0], reference(dy, x)[0]
    assert isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == F32
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "reference,axis,shape",
    [
        (softmax_grad_13, -1, (2, 3, 10)), (softmax_grad_13, 1, (2, 3, 10)),
        (softmax_grad_1, 1, (2, 3, 10)), (softmax_grad_1, 2, (2, 3, 4, 5)),
        (log_softmax_grad_13, -1, (4, 9)), (log_softmax_grad_13, 0, (4, 9)),
        (log_softmax_grad_1, 1, (2, 3, 4)),
    ],
)  # fmt: skip
def test_softmax_grads_match_the_reference(reference, axis, shape):
    z = _r(*shape)
    y = np.exp(z) / np.exp(z).sum(axis=axis, keepdims=True)  # any y: the VJP is a formula in it
    if "log" in reference.__name__:
        y = np.log(y)
    dy = _r(*shape)
    _close(KERNELS[reference].fn(dy, y, axis=axis), reference(dy, y, axis=axis))


def test_softmax_grad_declines_an_axis_out_of_range():
    with pytest.raises(RuntimeDecline, match="out of range"):
        KERNELS[softmax_grad_13].fn(_r(2, 3), _r(2, 3), axis=2)


@pytest.mark.parametrize("axis,shape,bias", [(-1, (2, 5, 16), True), (-2, (3, 4, 6), False),
                                             (0, (3, 4), True)])  # fmt: skip
def test_layer_norm_grad_matches_the_reference(axis, shape, bias):
    x = _r(*shape) * 3 + 1
    dy = _r(*shape)
    norm = shape[axis % len(shape) :]
    scale, b = _r(*norm), (_r(*norm) if bias else None)
    want = layer_normalization_grad_17(dy, x, scale, b, axis=axis, epsilon=1e-3)
    got = KERNELS[layer_normalization_grad_17].fn(dy, x, scale, b, axis=axis, epsilon=1e-3)
    _close(got, want, rtol=1e-4, atol=1e-4)


def test_layer_norm_grad_declines_a_broadcast_scale():
    with pytest.raises(RuntimeDecline, match="not the normalised one"):
        layer_norm_grad(_r(2, 3, 4), _r(2, 3, 4), _r(1, 4), None, -2, 1e-5)


def test_global_average_pool_grad_matches_the_reference():
    x, dy = _r(2, 3, 5, 4), _r(2, 3, 1, 1)
    got = KERNELS[global_average_pool_grad_1].fn(dy, x)
    np.testing.assert_allclose(got[0], global_average_pool_grad_1(dy, x)[0], rtol=1e-6)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("rows,n", [(64, 128), (3, 17), (1, 1)])
def test_softmax_grad_rows_in_c_match_the_reference_at_any_thread_count(log, rows, n):
    from gossamer.plugins.run_context import using_threads

    reference = log_softmax_grad_13 if log else softmax_grad_13
    z = _r(rows, n)
    y = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    y = (np.log(y) if log else y).astype(np.float32)
    dy = _r(rows, n)
    results = []
    for t in (1, 2, 4):
        with using_threads(t):
            results.append(KERNELS[reference].fn(dy, y, axis=-1)[0])
    _close(results[:1], reference(dy, y, axis=-1), rtol=1e-5, atol=1e-6)
    assert all(r.tobytes() == results[0].tobytes() for r in results)


@pytest.mark.parametrize("rows,d", [(1024, 128), (65, 33), (1, 7)])
def test_layer_norm_grad_rows_in_c_are_the_same_at_any_thread_count(rows, d):
    from gossamer.plugins.run_context import using_threads

    x, dy, scale, b = _r(rows, d) * 2 + 0.5, _r(rows, d), _r(d), _r(d)
    want = layer_normalization_grad_17(dy, x, scale, b, axis=-1, epsilon=1e-5)
    results = []
    for t in (1, 2, 4):
        with using_threads(t):
            results.append(KERNELS[layer_normalization_grad_17].fn(dy, x, scale, b, axis=-1))
    _close(results[0], want, rtol=1e-4, atol=1e-4)
    for r in results[1:]:
        assert all(p.tobytes() == q.tobytes() for p, q in zip(r, results[0]))
