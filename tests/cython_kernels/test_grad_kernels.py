"""The backward kernels (cython_kernels/grad_kernels.py) compute what the reference VJPs compute,
decline what they do not run, and a Trainer's backward graph places them on the cython backend."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.grad_kernels import (
    GradKernels,
    _max_pool_grad_refusal,
    batch_norm_grad_kernel,
    clip_grad_11_kernel,
    conv_grad_kernel,
    gelu_grad_kernel,
    mat_mul_grad_kernel,
    max_pool_grad_kernel,
)
from gossamer.plugins import RuntimeDecline
from gossamer.refimpl.grad.grad_batch_normalization import batch_normalization_grad_9
from gossamer.refimpl.grad.grad_clip import clip_grad_6, clip_grad_11
from gossamer.refimpl.grad.grad_conv import conv_grad_1
from gossamer.refimpl.grad.grad_gelu import gelu_grad_20
from gossamer.refimpl.grad.grad_mat_mul import mat_mul_grad_1
from gossamer.refimpl.grad.grad_max_pool import max_pool_grad_1
from gossamer.refimpl.ir import Node
from gossamer.refimpl.ops.op_conv import conv_1

F32 = np.float32

# (x shape, w shape, attributes): plain, strided+padded, dilated, grouped, depthwise (MobileNet's
# 3x3 stride 2), 1x1, SAME_UPPER, 1-D
CONVS = [
    ((2, 3, 9, 8), (4, 3, 3, 3), {}),
    ((2, 3, 9, 8), (5, 3, 3, 2), {"strides": [2, 3], "pads": [1, 0, 2, 1]}),
    ((1, 2, 10, 10), (3, 2, 3, 3), {"dilations": [2, 2], "pads": [2, 2, 2, 2]}),
    ((2, 4, 7, 7), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    ((2, 6, 9, 9), (6, 1, 3, 3), {"group": 6, "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ((2, 6, 8, 8), (6, 1, 3, 3), {"group": 6, "pads": [1, 1, 1, 1], "dilations": [2, 1]}),
    ((3, 8, 5, 5), (4, 8, 1, 1), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ((2, 3, 11), (4, 3, 3), {"strides": [2], "pads": [1, 1]}),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,attrs", CONVS)
def test_conv_grad_matches_the_reference(x_shape, w_shape, attrs, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(F32)
    w = rng.standard_normal(w_shape).astype(F32)
    b = rng.standard_normal(w_shape[0]).astype(F32) if bias else None
    dy = rng.standard_normal(conv_1(x, w, b, **attrs).shape).astype(F32)
    want = conv_grad_1(dy, x, w, b, **attrs)
    got = conv_grad_kernel(dy, x, w, b, **attrs)
    assert (got[2] is None) == (not bias)
    for g, r in zip(got, want):
        if r is not None:
            assert g.shape == r.shape and g.dtype == F32
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def test_conv_grad_declines_a_dy_of_the_wrong_shape():
    x, w = np.ones((1, 2, 5, 5), F32), np.ones((3, 2, 3, 3), F32)
    with pytest.raises(RuntimeDecline, match="dy has shape"):
        conv_grad_kernel(np.ones((1, 3, 4, 4), F32), x, w)


@pytest.mark.parametrize("shape,k", [((2, 3, 8, 6), 2), ((1, 2, 7, 8), 3), ((2, 1, 4, 4), 4)])
def test_max_pool_grad_gives_dy_to_the_first_maximum_like_the_reference(shape, k):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, shape).astype(F32)  # many ties: the first maximum must win
    x.flat[::7] = np.nan  # NaN is the maximum numpy's argmax (and the reference) picks
    dy = rng.standard_normal((shape[0], shape[1], shape[2] // k, shape[3] // k)).astype(F32)
    attrs = {"kernel_shape": [k, k], "strides": [k, k]}
    want = max_pool_grad_1(dy, x, **attrs)[0]
    np.testing.assert_array_equal(max_pool_grad_kernel(dy, x, **attrs)[0], want)


@pytest.mark.parametrize(
    "attrs,reason",
    [
        ({"kernel_shape": [3, 3], "strides": [2, 2]}, "strides != kernel_shape"),
        ({"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 0, 0]}, "pads"),
        ({"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, "ceil_mode"),
        ({"kernel_shape": [2]}, "2-D"),
    ],
)
def test_max_pool_grad_declines_other_geometries(attrs, reason):
    assert reason in _max_pool_grad_refusal(Node("MaxPoolGrad", ["dy", "x"], ["dx"], attrs), [])


def test_clip_grad_masks_exactly_like_the_reference_at_the_bounds_and_for_nan():
    x = np.array([-1.0, 0.0, 0.5, 6.0, 7.0, np.nan, 3.0], F32)
    dy = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan], F32)
    lo, hi = np.array(0.0, F32), np.array(6.0, F32)
    got, want = clip_grad_11_kernel(dy, x, lo, hi), clip_grad_11(dy, x, lo, hi)
    for g, r in zip(got, want):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_array_equal(
        GradKernels.kernels[clip_grad_6].fn(dy, x, min=0.0, max=6.0)[0],
        clip_grad_6(dy, x, min=0.0, max=6.0)[0],
    )
    with pytest.raises(RuntimeDecline, match="min > max"):
        clip_grad_11_kernel(dy, x, hi, lo)


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [((8, 16, 12), (12, 5)), ((7, 3), (3, 4)), ((2, 4, 6, 8), (2, 4, 8, 6)), ((5, 0), (0, 3))],
)
def test_mat_mul_grad_matches_the_reference(a_shape, b_shape):
    rng = np.random.default_rng(4)
    a = rng.standard_normal(a_shape).astype(F32)
    b = rng.standard_normal(b_shape).astype(F32)
    dy = rng.standard_normal(np.matmul(a, b).shape).astype(F32)
    for g, r in zip(mat_mul_grad_kernel(dy, a, b), mat_mul_grad_1(dy, a, b)):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def test_mat_mul_grad_declines_broadcast_batches_and_vectors():
    a, b = np.ones((2, 3, 4), F32), np.ones((1, 4, 5), F32)
    with pytest.raises(RuntimeDecline, match="broadcast"):
        mat_mul_grad_kernel(np.ones((2, 3, 5), F32), a, b)
    with pytest.raises(RuntimeDecline, match="1-D"):
        mat_mul_grad_kernel(np.ones(3, F32), np.ones((3, 4), F32), np.ones(4, F32))


@pytest.mark.parametrize("shape", [(), (7,), (3, 5, 4)])
def test_gelu_grad_matches_the_reference(shape):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) * 3).astype(F32)
    dy = rng.standard_normal(shape).astype(F32)
    got, want = gelu_grad_kernel(dy, x)[0], gelu_grad_20(dy, x)[0]
    assert got.shape == want.shape and got.dtype == F32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (8, 2, 7), (16, 5)])
def test_batch_norm_training_grad_matches_the_reference(shape):
    rng = np.random.default_rng(2)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1).astype(F32)
    dy = rng.standard_normal(shape).astype(F32)
    scale, b = rng.uniform(0.5, 1.5, c).astype(F32), rng.standard_normal(c).astype(F32)
    mean, var = np.zeros(c, F32), np.ones(c, F32)
    want = batch_normalization_grad_9(dy, x, scale, b, mean, var, epsilon=1e-3, training_mode=1)
    got = batch_norm_grad_kernel(dy, x, scale, b, mean, var, epsilon=1e-3, training_mode=1)
    assert got[3] is None and got[4] is None
    for g, r in zip(got[:3], want[:3]):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def test_a_trainers_backward_graph_runs_its_hot_vjps_on_cython():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from gossamer.train import Trainer

    rng = np.random.default_rng(3)
    weights = {
        "conv.w": rng.standard_normal((4, 2, 3, 3)).astype(F32) * 0.4,
        "bn.scale": np.ones(4, F32), "bn.bias": np.zeros(4, F32),
        "bn.mean": np.zeros(4, F32), "bn.var": np.ones(4, F32),
        "lo": np.array(0.0, F32), "hi": np.array(6.0, F32),
        "fc.w": rng.standard_normal((3, 16)).astype(F32) * 0.3,
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "conv.w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node(
            "BatchNormalization",
            ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
            ["b"],
            name="bn",
        ),  # fmt: skip
        helper.make_node("Clip", ["b", "lo", "hi"], ["r"], name="relu6"),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"]),
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
    for op in ("ConvGrad", "BatchNormalizationGrad", "ClipGrad", "MaxPoolGrad"):
        assert placed[f"ai.gossamer.grad::{op}"] == "cython", op
    _, got = fast.gradients({"x": x}, y)
    _, want = Trainer(model, loss="sparse_cross_entropy", backends=["reference"]).gradients(
        {"x": x}, y
    )
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert onnx is not None


# depthwise: stride 2 with odd sizes, dilation 2 and stride 2, a pad past the filter's extent
# (the tap-by-tap scatter), 5x5
DEPTHWISE = [
    ((2, 4, 9, 8), (4, 1, 3, 3), {"group": 4, "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ((1, 3, 11, 11), (3, 1, 3, 3), {"group": 3, "strides": [2, 2], "dilations": [2, 2],
                                    "pads": [2, 2, 2, 2]}),
    ((1, 2, 6, 6), (2, 1, 3, 3), {"group": 2, "pads": [3, 3, 3, 3]}),
    ((2, 5, 8, 8), (5, 1, 5, 5), {"group": 5, "pads": [2, 2, 2, 2]}),
]  # fmt: skip


@pytest.mark.parametrize("x_shape,w_shape,attrs", DEPTHWISE)
def test_depthwise_conv_grad_matches_the_reference(x_shape, w_shape, attrs):
    test_conv_grad_matches_the_reference(x_shape, w_shape, attrs, True)


def test_clip_grad_fast_path_sums_and_masks_like_the_reference():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((4, 8, 9, 9)) * 4).astype(F32)
    x.flat[::11] = 6.0  # at the bound: passes
    dy = rng.standard_normal(x.shape).astype(F32)
    lo, hi = np.array(0.0, F32), np.array(6.0, F32)
    got, want = clip_grad_11_kernel(dy, x, lo, hi), clip_grad_11(dy, x, lo, hi)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5)
    dy.flat[np.argmax(x < 0)] = np.inf  # an inf cotangent under the mask: exactly 0 there
    np.testing.assert_array_equal(
        clip_grad_11_kernel(dy, x, lo, hi)[0], clip_grad_11(dy, x, lo, hi)[0]
    )


@pytest.mark.parametrize("cin,attrs", [(1, {}), (3, {"strides": [2, 2], "pads": [1, 1, 1, 1]})])
def test_conv_with_run_time_weights_and_few_input_channels_matches_the_reference(cin, attrs):
    """Training feeds the weights: a stem conv takes the direct kernel with weights packed per
    call (not the GEMM), and still computes the reference's result."""
    from gossamer.cython_kernels.conv_kernels import _Conv

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, cin, 12, 12)).astype(F32)
    w = rng.standard_normal((6, cin, 3, 3)).astype(F32)
    b = rng.standard_normal(6).astype(F32)
    full = {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1],
            **attrs}  # fmt: skip
    conv = _Conv(Node("Conv", ["x", "w", "b"], ["y"], full), {})  # no constants: run-time weights
    np.testing.assert_allclose(conv(x, w, b), conv_1(x, w, b, **full), rtol=1e-5, atol=1e-5)


def test_two_thread_paths_match_the_reference():
    """At 2 threads: BatchNormalizationGrad split over channels, ClipGrad over elements (both
    large enough to split), ConvGrad's and MatMulGrad's GEMMs on the C matmul_batched."""
    from gossamer.plugins.run_context import using_threads

    rng = np.random.default_rng(9)
    x = (rng.standard_normal((4, 6, 80, 80)) * 3).astype(F32)
    dy = rng.standard_normal(x.shape).astype(F32)
    c = x.shape[1]
    scale, b = rng.uniform(0.5, 1.5, c).astype(F32), rng.standard_normal(c).astype(F32)
    mean, var, lo, hi = np.zeros(c, F32), np.ones(c, F32), np.array(0.0, F32), np.array(1.0, F32)
    w = rng.standard_normal((5, 6, 3, 3)).astype(F32)
    attrs = {"pads": [1, 1, 1, 1], "strides": [2, 2]}
    dyc = rng.standard_normal(conv_1(x, w, **attrs).shape).astype(F32)
    a, bm = rng.standard_normal((3, 40, 24)).astype(F32), rng.standard_normal((24, 16)).astype(F32)
    a4, b4 = rng.standard_normal((2, 3, 9, 7)).astype(F32), rng.standard_normal((2, 3, 7, 5))
    b4 = b4.astype(F32)
    with using_threads(2):
        bn = batch_norm_grad_kernel(dy, x, scale, b, mean, var, epsilon=1e-3, training_mode=1)
        clip = clip_grad_11_kernel(dy, x, lo, hi)
        conv = conv_grad_kernel(dyc, x, w, **attrs)
        mm4 = mat_mul_grad_kernel(np.ones((2, 3, 9, 5), F32), a4, b4)
    want = batch_normalization_grad_9(dy, x, scale, b, mean, var, epsilon=1e-3, training_mode=1)
    for g, r in zip(bn[:3], want[:3]):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(clip[0], clip_grad_11(dy, x, lo, hi)[0])
    for g, r in zip(clip[1:], clip_grad_11(dy, x, lo, hi)[1:]):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-2)
    for g, r in zip(conv[:2], conv_grad_1(dyc, x, w, **attrs)[:2]):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-3)
    dmm = rng.standard_normal((3, 40, 16)).astype(F32)
    with using_threads(2):
        mm = mat_mul_grad_kernel(dmm, a, bm)
    for got, want in ((mm, mat_mul_grad_1(dmm, a, bm)),
                      (mm4, mat_mul_grad_1(np.ones((2, 3, 9, 5), F32), a4, b4))):  # fmt: skip
        for g, r in zip(got, want):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "shape,indices,axis",
    [((1000, 16), np.random.default_rng(1).integers(-1000, 1000, (8, 40)), 0),
     ((5, 3), np.array([0, -1, 4, 4, -5]), 0), ((5, 3), np.array(2), 0),
     ((2, 5, 3), np.array([[1, -2], [1, 1]]), 1), ((3, 4), np.array([3, -4, 3], np.int32), -1),
     ((5, 3), np.zeros((0,), np.int64), 0), ((4, 0), np.array([1, 1]), 0)],
)  # fmt: skip
def test_gather_grad_is_the_reference_bit_for_bit(shape, indices, axis):
    from gossamer.cython_kernels.grad_kernels import gather_grad_kernel
    from gossamer.refimpl.grad.grad_gather import gather_grad_1
    from gossamer.refimpl.ops.op_gather import gather_1

    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(gather_1(data, indices, axis=axis).shape).astype(np.float32)
    got = gather_grad_kernel(dy, data, indices, axis)
    want = gather_grad_1(dy, data, indices, axis=axis)[0]
    assert got.shape == want.shape and got.tobytes() == want.tobytes()


def test_gather_grad_declines_an_index_out_of_range():
    from gossamer.cython_kernels.grad_kernels import gather_grad_kernel

    with pytest.raises(RuntimeDecline, match="out of range"):
        gather_grad_kernel(np.zeros(1, np.float32), np.zeros(5, np.float32), np.array([5]), 0)
