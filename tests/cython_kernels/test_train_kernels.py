"""The C training kernels (cython_kernels/train_kernels.py on src/train.c) compute what the
reference computes, give the same bits at 1 and 2 threads, reject arrays too small for the sizes
they are told, and a Trainer's training graph runs its BatchNormalization forward on them."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.train_kernels import (
    batch_norm_grad_kernel,
    clip_masked,
    max_pool_grad_kernel,
    prepare_bn_train,
)
from gossamer.plugins import RuntimeDecline
from gossamer.plugins.run_context import using_threads
from gossamer.refimpl.grad.grad_batch_normalization import batch_normalization_grad_9
from gossamer.refimpl.grad.grad_clip import clip_grad_11
from gossamer.refimpl.grad.grad_max_pool import max_pool_grad_1
from gossamer.refimpl.ir import Node
from gossamer.refimpl.ops.op_batch_normalization import batch_normalization_14

F32 = np.float32
# (N, C, ...) shapes: 4-D, 3-D, 2-D (L = 1), one sample, a spatial size not a multiple of 16
SHAPES = [(4, 3, 5, 5), (8, 2, 7), (16, 5), (1, 6, 33, 31), (2, 4, 40, 40)]


def _bn_inputs(shape, seed=0, offset=1.0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + offset).astype(F32)
    scale, b = rng.uniform(0.5, 1.5, c).astype(F32), rng.standard_normal(c).astype(F32)
    mean, var = rng.standard_normal(c).astype(F32), rng.uniform(0.5, 2, c).astype(F32)
    return x, scale, b, mean, var


def _bn_forward(momentum=0.9, epsilon=1e-3):
    attrs = {"epsilon": epsilon, "momentum": momentum, "training_mode": 1}
    node = Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"], attrs)
    return prepare_bn_train(batch_normalization_14, node), attrs


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.9, 0.1])
def test_training_batch_norm_forward_matches_the_reference(shape, momentum):
    run, attrs = _bn_forward(momentum)
    inputs = _bn_inputs(shape)
    got, want = run(*inputs, **attrs), batch_normalization_14(*inputs, **attrs)
    assert [g.dtype for g in got] == [F32] * 3
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-5)


def test_training_batch_norm_forward_keeps_precision_far_from_zero():
    """Moments by two passes: a large offset over a small spread does not cancel."""
    run, attrs = _bn_forward()
    inputs = _bn_inputs((4, 3, 16, 16), offset=1000.0)
    got, want = run(*inputs, **attrs), batch_normalization_14(*inputs, **attrs)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5)


def test_training_batch_norm_forward_declines_per_channel_inputs_of_the_wrong_size():
    run, attrs = _bn_forward()
    x, scale, b, mean, var = _bn_inputs((2, 3, 4))
    with pytest.raises(RuntimeDecline, match="per-channel"):
        run(x, scale[:2], b, mean, var, **attrs)
    with pytest.raises(RuntimeDecline, match="empty"):  # an empty batch: the reference's NaNs
        run(x[:0], scale, b, mean, var, **attrs)
    with pytest.raises(RuntimeDecline, match="empty"):
        batch_norm_grad_kernel(x[:0], x[:0], scale, b, mean, var, training_mode=1)


@pytest.mark.parametrize("shape", SHAPES)
def test_training_batch_norm_grad_matches_the_reference(shape):
    x, scale, b, mean, var = _bn_inputs(shape, seed=1)
    dy = np.random.default_rng(2).standard_normal(shape).astype(F32)
    want = batch_normalization_grad_9(dy, x, scale, b, mean, var, epsilon=1e-3, training_mode=1)
    got = batch_norm_grad_kernel(dy, x, scale, b, mean, var, epsilon=1e-3, training_mode=1)
    assert got[3] is None and got[4] is None
    for g, r in zip(got[:3], want[:3]):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def test_training_batch_norm_grad_of_a_constant_dy_is_exactly_zero():
    """dy constant over a channel: dx = 0 exactly, as the reference's m dy - db."""
    x, scale, b, mean, var = _bn_inputs((3, 2, 5, 5), seed=3)
    dy = np.full(x.shape, 1.7, F32)
    dx = batch_norm_grad_kernel(dy, x, scale, b, mean, var, training_mode=1)[0]
    np.testing.assert_allclose(dx, 0.0, atol=1e-6)
    one = batch_norm_grad_kernel(dy[:1, :, :1, :1], x[:1, :, :1, :1], scale, b, mean, var,
                                 training_mode=1)  # fmt: skip
    np.testing.assert_array_equal(one[0], 0.0)


def test_clip_grad_sums_and_masks_like_the_reference():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 5, 70, 70)) * 4).astype(F32)  # several 16K-element chunks
    x.flat[::13] = 6.0  # at the bound: passes
    x.flat[5::17] = np.nan  # NaN passes dy
    dy = rng.standard_normal(x.shape).astype(F32)
    dy.flat[np.argmax(x < 0)] = np.inf  # under the mask: exactly 0 in dx, inf in the sum
    lo, hi = np.array(0.0, F32), np.array(6.0, F32)
    dx, dlo, dhi = clip_masked(dy, x, 0.0, 6.0)
    want = clip_grad_11(dy, x, lo, hi)
    np.testing.assert_array_equal(dx, want[0])
    assert dlo == np.inf and want[1] == np.inf
    np.testing.assert_allclose(dhi, want[2], rtol=1e-5)
    assert clip_masked(dy, x, -np.inf, np.inf)[1:] == (0.0, 0.0)
    with pytest.raises(RuntimeDecline, match="min > max"):
        clip_masked(dy, x, 1.0, 0.0)


@pytest.mark.parametrize("shape,k", [((2, 3, 9, 7), 2), ((1, 2, 7, 8), 3), ((3, 4, 8, 8), 4)])
def test_max_pool_grad_zeroes_uncovered_edges_and_picks_the_first_maximum(shape, k):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, shape).astype(F32)  # ties: the first maximum wins
    x.flat[::9] = np.nan
    dy = rng.standard_normal((*shape[:2], shape[2] // k, shape[3] // k)).astype(F32)
    attrs = {"kernel_shape": [k, k], "strides": [k, k]}
    np.testing.assert_array_equal(max_pool_grad_kernel(dy, x, [k, k])[0],
                                  max_pool_grad_1(dy, x, **attrs)[0])  # fmt: skip
    with pytest.raises(RuntimeDecline, match="strides"):
        max_pool_grad_kernel(dy, x, [k, k], [1, 1])


def test_results_do_not_depend_on_the_thread_count():
    x, scale, b, mean, var = _bn_inputs((4, 6, 64, 64), seed=6)
    dy = np.random.default_rng(7).standard_normal(x.shape).astype(F32)
    run, attrs = _bn_forward()

    def all_of() -> list[np.ndarray]:
        bn = batch_norm_grad_kernel(dy, x, scale, b, mean, var, training_mode=1)
        clip = clip_masked(dy, x, 0.0, 1.0)
        pool = max_pool_grad_kernel(dy[:, :, ::2, ::2].copy(), x, [2, 2])
        return [*run(x, scale, b, mean, var, **attrs), *bn[:3], clip[0],
                np.array(clip[1:]), pool[0]]  # fmt: skip

    with using_threads(1):
        one = all_of()
    with using_threads(2):
        two = all_of()
    for a, b_ in zip(one, two):
        np.testing.assert_array_equal(a, b_)


def test_wrappers_reject_arrays_too_small_for_their_sizes():
    e, v = ext(), lambda n: np.zeros(n, F32)
    with pytest.raises(ValueError, match="fewer than"):
        e.bn_train_forward(v(23), v(2), v(2), v(24), v(2), v(2), 2, 2, 6, 1e-5, 1)
    with pytest.raises(ValueError, match="mean"):
        e.bn_train_forward(v(24), v(2), v(2), v(24), v(1), v(2), 2, 2, 6, 1e-5, 1)
    with pytest.raises(ValueError, match="negative"):
        e.bn_train_grad(v(24), v(24), v(2), v(24), v(2), v(2), -2, 2, 6, 1e-5, 1)
    with pytest.raises(ValueError, match="fewer than"):
        e.bn_train_grad(v(24), v(24), v(2), v(23), v(2), v(2), 2, 2, 6, 1e-5, 1)
    with pytest.raises(ValueError, match="shorter"):
        e.clip_grad(v(9), v(10), 0.0, 1.0, v(10), 1)
    with pytest.raises(ValueError, match="lo > hi"):
        e.clip_grad(v(10), v(10), 1.0, 0.0, v(10), 1)
    with pytest.raises(ValueError, match="fewer than"):
        e.max_pool_grad(v(7), v(32), v(32), 2, 4, 4, 2, 2, 1)  # dy needs 2 x 2 x 2
    with pytest.raises(ValueError, match="kernel"):
        e.max_pool_grad(v(8), v(32), v(32), 2, 4, 4, 0, 2, 1)
    with pytest.raises(ValueError, match="fewer than"):
        e.max_pool_grad(v(8), v(31), v(32), 2, 4, 4, 2, 2, 1)


def test_a_trainers_batch_norm_forward_runs_on_cython_and_updates_running_statistics():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from gossamer.train import Trainer

    rng = np.random.default_rng(8)
    weights = {
        "conv.w": rng.standard_normal((4, 2, 3, 3)).astype(F32) * 0.4,
        "bn.scale": np.ones(4, F32), "bn.bias": np.zeros(4, F32),
        "bn.mean": np.zeros(4, F32), "bn.var": np.ones(4, F32),
        "fc.w": rng.standard_normal((3, 64)).astype(F32) * 0.3,
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "conv.w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node(
            "BatchNormalization",
            ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
            ["b"],
            name="bn",
            momentum=0.8,
        ),  # fmt: skip
        helper.make_node("Flatten", ["b"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.w"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    x, y = rng.standard_normal((6, 2, 4, 4)).astype(F32), rng.integers(0, 3, 6)
    fast = Trainer(model, loss="sparse_cross_entropy", backends=["cython"])
    placed = {p.op_type: p.backend for p in fast._train.placement_report().nodes}
    assert placed["BatchNormalization"] == "cython"
    slow = Trainer(model, loss="sparse_cross_entropy", backends=["reference"])
    (loss, got), (want_loss, want) = fast.gradients({"x": x}, y), slow.gradients({"x": x}, y)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6, err_msg=name)
    fast.train_step({"x": x}, y)
    slow.train_step({"x": x}, y)
    for name in ("bn.mean", "bn.var"):
        assert not np.array_equal(fast.weights[name], weights[name]), name
        np.testing.assert_allclose(fast.weights[name], slow.weights[name], rtol=1e-5, atol=1e-7)


def test_conv_grad_skips_dx_where_the_node_leaves_it_unnamed():
    """A first conv's ConvGrad ('' for dx): no dx work, the same dw and db."""
    from gossamer.cython_kernels.grad_kernels import GradKernels
    from gossamer.refimpl.grad.grad_conv import conv_grad_1

    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((2, 3, 9, 9)).astype(F32), rng.standard_normal((4, 3, 3, 3))
    w, b, dy = w.astype(F32), np.zeros(4, F32), rng.standard_normal((2, 4, 9, 9)).astype(F32)
    attrs = {"pads": [1, 1, 1, 1]}
    prepare = GradKernels.kernels[conv_grad_1].prepare
    unused = prepare(Node("ConvGrad", ["dy", "x", "w", "b"], ["", "dw", "db"], attrs), {})
    used = prepare(Node("ConvGrad", ["dy", "x", "w", "b"], ["dx", "dw", "db"], attrs), {})
    skipped, full = unused(dy, x, w, b, **attrs), used(dy, x, w, b, **attrs)
    assert skipped[0] is None and full[0] is not None
    np.testing.assert_array_equal(skipped[1], full[1])
    np.testing.assert_allclose(full[1], conv_grad_1(dy, x, w, b, **attrs)[1], rtol=1e-4, atol=1e-4)


def test_gelu_grad_matches_the_reference_from_the_tails_through_zero():
    from gossamer.cython_kernels.grad_kernels import gelu_grad_kernel
    from gossamer.refimpl.grad.grad_gelu import gelu_grad_20

    x = np.concatenate([np.linspace(-12, 12, 4001), [0.0, -0.0, 1e-30, -1e-30, 1e-3]])
    x = x.astype(F32).reshape(1, -1)
    dy = np.random.default_rng(10).standard_normal(x.shape).astype(F32)
    np.testing.assert_allclose(gelu_grad_kernel(dy, x)[0], gelu_grad_20(dy, x)[0],
                               rtol=2e-5, atol=1e-6)  # fmt: skip
    special = np.array([np.nan, np.inf, -np.inf], F32)  # NaN in both (inf * 0 in the reference)
    with np.errstate(invalid="ignore"):
        want = gelu_grad_20(np.ones(3, F32), special)[0]
    np.testing.assert_array_equal(gelu_grad_kernel(np.ones(3, F32), special)[0], want)
    with pytest.raises(ValueError, match="shorter"):
        ext().gelu_grad(np.zeros(3, F32), np.zeros(4, F32), np.zeros(4, F32), 1)
