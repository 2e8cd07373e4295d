"""The small planes' 1x1 conv with the output channels in the vector lanes (src/conv1x1.h
gk_conv1x1_cvec; conv_kernels.CONV1X1_CVEC) gives the bits of conv_gemm's packed path: at
AVX-512 (the only level with the kernel; elsewhere it declines and the GEMM runs), 1 and 2
threads, any K slice; and in a model, recorded in a segment too."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import conv_kernels, simd_level
from gossamer.cython_kernels._native import ext

import gossamer

from ._helpers import CountedExt, assert_on_cython, one_node
from .test_conv1x1 import _conv, _packed_a

F32 = np.float32

SHAPES = [  # c (K), m, h, w: panel tails (m not / 64, not / 16), pixel tiles of 6, K blocks
    (1, 1, 1, 1),
    (3, 17, 1, 5),  # one panel of 32 lanes (17 channels), one tile of 5 pixels
    (64, 96, 7, 7),  # 64 + 32 channels, 49 pixels: 8 tiles of 6 and one of 1
    (256, 192, 7, 7),  # 3 panels: at 2 threads each its pixels
    (257, 130, 3, 11),  # 256 + 1: the short last block folded into one of 257
    (520, 64, 5, 5),  # 256 + 264: two K blocks, the sums added
    (1024, 256, 14, 14),  # ResNet-50's 1024 -> 256 at 14x14: four K blocks, 4 panels
    (512, 320, 13, 13),  # 169 pixels, 5 panels
]


def _packed_gemm(w, x, bias, z, lo, hi, clip, threads):
    c, h, wd = x.shape
    bp = np.empty(ext().packed_b_size(c, h * wd), F32)
    return _conv(_packed_a(w), x, w.shape[0], bp, bias, z, lo, hi, clip, threads)


@pytest.mark.parametrize("c, m, h, w", SHAPES)
@pytest.mark.parametrize("kind", ["plain", "bias_relu", "residual_clip"])
def test_cvec_1x1_gives_the_packed_bits(level, nthreads, c, m, h, w, kind):
    rng = np.random.default_rng(c * 100 + m + h * w)
    x = rng.standard_normal((c, h, w), dtype=F32)
    wt = rng.standard_normal((m, c), dtype=F32)
    bias = rng.standard_normal(m, dtype=F32) if kind != "plain" else None
    z = rng.standard_normal((m, h * w), dtype=F32) if kind == "residual_clip" else None
    lo, hi = (0.0, np.inf) if kind == "bias_relu" else (-0.5, 0.7)
    clip = kind != "plain"
    wp = np.empty(ext().conv1x1_cvec_size(m, c), F32)
    ext().conv1x1_cvec_pack(wt, wp)
    want = _packed_gemm(wt, x, bias, z, lo, hi, clip, 1)
    before = ext().conv1x1_cvec_tune()
    try:
        # K slices (the accumulators spilled or not), prefetches on / off, the pixels split
        for ks, flags in ((64, 7), (1, 0), (7, 15), (256, 7), (1000, 8)):
            ext().conv1x1_cvec_tune(ks, flags)
            y = np.full((m, h * w), np.nan, F32)
            done = ext().conv1x1_cvec(wp, x.reshape(c, h * w), y, bias, z, lo, hi, clip, nthreads)
            assert done == (level == "avx512f")
            if done:
                np.testing.assert_array_equal(y, want, err_msg=f"K slice {ks}, flags {flags}")
            else:
                assert np.isnan(y).all()  # untouched
    finally:
        ext().conv1x1_cvec_tune(*before)


def test_nan_and_infinities_as_the_gemm(level):
    """A NaN and infinities in the input and weights: the same outputs (NaN where the GEMM's)."""
    rng = np.random.default_rng(5)
    c, m, h, w = 300, 80, 7, 7
    x = rng.standard_normal((c, h, w), dtype=F32)
    x[3, 2, 2], x[10, 0, 1], x[20, 6, 6] = np.nan, np.inf, -np.inf
    wt = rng.standard_normal((m, c), dtype=F32)
    wt[7, 40] = np.inf
    bias = rng.standard_normal(m, dtype=F32)
    want = _packed_gemm(wt, x, bias, None, -1.0, 1.0, True, 2)
    wp = np.empty(ext().conv1x1_cvec_size(m, c), F32)
    ext().conv1x1_cvec_pack(wt, wp)
    y = np.full((m, h * w), np.nan, F32)
    if ext().conv1x1_cvec(wp, x.reshape(c, h * w), y, bias, None, -1.0, 1.0, True, 2):
        np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
        np.testing.assert_array_equal(y[~np.isnan(y)], want[~np.isnan(want)])
    else:
        assert level != "avx512f"


def test_the_rule():
    """Small planes only (the 7x7 and 14x14 1x1s of ResNet-50, SqueezeNet's 13x13); the switch
    turns it off, or on for every shape (tests)."""
    if ext().conv1x1_cvec_on(-1) != 1:
        pytest.skip("the rule is switched")
    avx512 = simd_level() == "avx512f"
    assert ext().conv1x1_cvec_takes(512, 49, 2048) == avx512
    assert ext().conv1x1_cvec_takes(256, 196, 1024) == avx512
    assert not ext().conv1x1_cvec_takes(512, 784, 128)  # 28x28: the GEMM
    assert not ext().conv1x1_cvec_takes(256, 3136, 64)
    before, largest = ext().conv1x1_cvec_on(0), ext().conv1x1_cvec_max_pixels()
    try:
        assert not ext().conv1x1_cvec_takes(512, 49, 2048)
        ext().conv1x1_cvec_on(2)
        assert ext().conv1x1_cvec_takes(256, 3136, 64) == avx512
        ext().conv1x1_cvec_on(1)
        ext().conv1x1_cvec_max_pixels(49)
        assert ext().conv1x1_cvec_takes(512, 49, 2048) == avx512
        assert not ext().conv1x1_cvec_takes(256, 196, 1024)
    finally:
        ext().conv1x1_cvec_on(before)
        ext().conv1x1_cvec_max_pixels(largest)


def _model(c, m, h, w, residual: bool, seed: int, stride: int = 1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, c, h, w), dtype=F32)
    wt = (rng.standard_normal((m, c, 1, 1)) * 0.1).astype(F32)
    b = rng.standard_normal(m).astype(F32)
    strides = {"strides": [stride, stride]}
    if not residual:
        return x, None, one_node("Conv", {"x": x}, {"w": wt, "b": b}, **strides)
    import onnx
    from onnx import TensorProto, helper

    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    z = rng.standard_normal((2, m, oh, ow), dtype=F32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], **strides),
        helper.make_node("Add", ["c", "z"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in
         (("x", x), ("z", z))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(wt, "w"), onnx.numpy_helper.from_array(b, "b")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return x, z, model.SerializeToString()


def test_threads_take_only_the_smallest_planes(monkeypatch):
    """With more than one thread, planes over CONV1X1_CVEC_THREADED_PIXELS stay on the GEMM
    unless they have at least CONV1X1_CVEC_THREADED_MIN_K input channels (None: none do);
    fewer input channels than CONV1X1_CVEC_MIN_K too."""
    counter = CountedExt("conv1x1_cvec")
    monkeypatch.setattr(conv_kernels, "ext", lambda: counter)
    monkeypatch.setattr(conv_kernels, "CONV1X1_CVEC_THREADED_MIN_K", 512)
    cases = [(128, 7, 2, True), (128, 14, 2, False), (128, 14, 1, True), (64, 7, 1, False)]
    cases += [(256, 14, 2, False), (512, 14, 2, True), (512, 14, 2, False, None)]
    for c, hw, threads, taken, *min_k in cases:
        if min_k:
            monkeypatch.setattr(conv_kernels, "CONV1X1_CVEC_THREADED_MIN_K", min_k[0])
        x, _, model = _model(c, 64, hw, hw, False, seed=hw)
        counter.calls = 0
        gossamer.load(model, backends=["cython"], threads=threads).run(None, {"x": x})
        avx512 = simd_level() == "avx512f"
        assert (counter.calls > 0) == (taken and avx512), (c, hw, threads, min_k)


@pytest.mark.parametrize("residual", [False, True], ids=["conv", "conv_add_relu"])
def test_a_model_gives_the_gemm_bits(level, threads, monkeypatch, residual):
    """A 1x1 conv of 2 images (with a fused residual and Relu or not) by the cvec path and by the
    GEMM (CONV1X1_CVEC off): the same bits, over the runs that record and replay a segment; the
    path taken at AVX-512 only."""
    x, z, model = _model(200, 144, 7, 7, residual, seed=11 + residual)
    feeds = {"x": x} if z is None else {"x": x, "z": z}
    counter = CountedExt("conv1x1_cvec")
    monkeypatch.setattr(conv_kernels, "ext", lambda: counter)
    new = gossamer.load(model, backends=["cython"], threads=threads)
    got = [new.run(None, feeds)[0] for _ in range(3)]  # the second records, the third replays
    assert_on_cython(new.placement)
    assert (counter.calls > 0) == (level == "avx512f")
    monkeypatch.setattr(conv_kernels, "CONV1X1_CVEC", False)
    old = gossamer.load(model, backends=["cython"], threads=threads)
    want = [old.run(None, feeds)[0] for _ in range(3)]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("residual", [False, True], ids=["conv", "conv_add_relu"])
def test_a_strided_1x1_gives_the_gemm_bits(level, threads, monkeypatch, residual):
    """A 1x1 stride-2 conv to a 7x7 plane (13x13 in: the odd last row and column dropped) by the
    cvec path on its input's strided pixels copied together, and by the GEMM
    (CONV1X1_CVEC_STRIDED_PIXELS 0): the same bits, over the runs that record and replay a
    segment; the path taken at AVX-512 only."""
    x, z, model = _model(512, 144, 13, 13, residual, seed=21 + residual, stride=2)
    feeds = {"x": x} if z is None else {"x": x, "z": z}
    counter = CountedExt("conv1x1_cvec")
    monkeypatch.setattr(conv_kernels, "ext", lambda: counter)
    new = gossamer.load(model, backends=["cython"], threads=threads)
    got = [new.run(None, feeds)[0] for _ in range(3)]  # the second records, the third replays
    assert_on_cython(new.placement)
    assert (counter.calls > 0) == (level == "avx512f")
    monkeypatch.setattr(conv_kernels, "CONV1X1_CVEC_STRIDED_PIXELS", 0)
    counter.calls = 0
    old = gossamer.load(model, backends=["cython"], threads=threads)
    want = [old.run(None, feeds)[0] for _ in range(3)]
    assert counter.calls == 0
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_strided_1x1s_take_only_small_planes_of_many_channels(monkeypatch):
    """A strided 1x1 takes the path only to a plane of at most CONV1X1_CVEC_STRIDED_PIXELS
    pixels from at least CONV1X1_CVEC_STRIDED_MIN_K input channels, at 1 and 2 threads."""
    counter = CountedExt("conv1x1_cvec")
    monkeypatch.setattr(conv_kernels, "ext", lambda: counter)
    avx512 = simd_level() == "avx512f"
    # c, input plane, threads, taken: 14 -> 7, 28 -> 14 (196 pixels), 256 channels
    for c, hw, threads, taken in [(512, 14, 1, True), (512, 14, 2, True), (512, 28, 1, False),
                                  (512, 28, 2, False), (256, 14, 1, False)]:  # fmt: skip
        x, _, model = _model(c, 64, hw, hw, False, seed=hw, stride=2)
        counter.calls = 0
        gossamer.load(model, backends=["cython"], threads=threads).run(None, {"x": x})
        assert (counter.calls > 0) == (taken and avx512), (c, hw, threads)
