"""The exact int8 convolutions (src/qconv.h, QLinearConv / ConvInteger): bit-identical to the
reference at every SIMD level this CPU has, 1 and 2 threads; padding is the input zero point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gossamer

from ._qhelpers import q_model, run_exact

F32 = np.float32


def _q(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def _qlinear_conv_consts(rng, w, x_dtype, y_dtype, per_channel, with_bias):  # type: ignore[no-untyped-def]
    m = w.shape[0]
    chan = (m,) if per_channel else ()
    return {
        "x_scale": F32(rng.random() * 0.05 + 1e-3), "x_zero_point": _q(rng, (), x_dtype),
        "w": w, "w_scale": (rng.random(chan) * 0.02 + 1e-4).astype(F32),
        "w_zero_point": _q(rng, chan, str(w.dtype)),
        "y_scale": F32(rng.random() * 0.3 + 0.01), "y_zero_point": _q(rng, (), y_dtype),
        "b": rng.integers(-(2**16), 2**16, m).astype(np.int32) if with_bias else None,
    }  # fmt: skip


@st.composite
def conv_geometry(draw):  # type: ignore[no-untyped-def]
    depthwise = draw(st.booleans())
    group = draw(st.integers(1, 3)) if not depthwise else draw(st.integers(2, 6))
    cg = 1 if depthwise else draw(st.integers(1, 5))
    mg = 1 if depthwise else draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
    pads = [draw(st.integers(0, 3)) for _ in range(4)]
    h = draw(st.integers((kh - 1) * dh + 1, 14))
    w = draw(st.integers((kw - 1) * dw + 1, 14))
    return dict(group=group, cin=group * cg, cout=group * mg, k=(kh, kw), strides=[sh, sw],
                dilations=[dh, dw], pads=pads, hw=(h, w))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    g=conv_geometry(), x_dtype=st.sampled_from(["uint8", "int8"]),
    w_dtype=st.sampled_from(["int8", "uint8"]), y_dtype=st.sampled_from(["uint8", "int8"]),
    per_channel=st.booleans(), with_bias=st.booleans(), batch=st.integers(1, 2),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_qlinear_conv(level, nthreads, g, x_dtype, w_dtype, y_dtype, per_channel, with_bias,
                      batch, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    x = _q(rng, (batch, g["cin"], *g["hw"]), x_dtype)
    w = _q(rng, (g["cout"], g["cin"] // g["group"], *g["k"]), w_dtype)
    consts = _qlinear_conv_consts(rng, w, x_dtype, y_dtype, per_channel, with_bias)
    attrs = {k: g[k] for k in ("group", "strides", "dilations", "pads")}
    run_exact(q_model("QLinearConv", {"x": x}, consts, **attrs), {"x": x}, nthreads)


@pytest.mark.parametrize("depthwise", [False, True])
def test_padding_is_the_input_zero_point(level, depthwise):
    # an input equal to its zero point everywhere is zero everywhere, padding included: the output
    # is the bias alone at every position, border or not
    c = 4
    x = np.full((1, c, 5, 6), 200, np.uint8)
    w = np.full((c, 1 if depthwise else c, 3, 3), 127, np.int8)
    consts = {
        "x_scale": F32(1.0), "x_zero_point": np.uint8(200), "w": w, "w_scale": F32(1.0),
        "w_zero_point": np.int8(0), "y_scale": F32(1.0), "y_zero_point": np.int8(-3),
        "b": np.array([1, 2, 3, 4], np.int32),
    }  # fmt: skip
    model = q_model("QLinearConv", {"x": x}, consts, group=c if depthwise else 1, pads=[2] * 4)
    y = run_exact(model, {"x": x}, 2)
    want = np.array([-2, -1, 0, 1]).reshape(1, 4, 1, 1)
    np.testing.assert_array_equal(y, np.broadcast_to(want, y.shape))


@pytest.mark.parametrize("shape", [(1, 8, 300), (2, 3, 17)])
def test_qlinear_conv_1d(level, nthreads, shape):
    rng = np.random.default_rng(2)
    x = _q(rng, shape, "int8")
    w = _q(rng, (5, shape[1], 3), "int8")
    consts = _qlinear_conv_consts(rng, w, "int8", "int8", True, True)
    run_exact(
        q_model("QLinearConv", {"x": x}, consts, pads=[1, 1], strides=[2]), {"x": x}, nthreads
    )


def test_outputs_saturate_at_both_ends(level):
    x = np.array([[[[0, 255], [255, 0]]]], np.uint8)
    w = np.array([[[[127]]], [[[-128]]]], np.int8)
    consts = {
        "x_scale": F32(1.0), "x_zero_point": np.uint8(0), "w": w,
        "w_scale": np.array([1.0, 1.0], F32), "w_zero_point": np.zeros(2, np.int8),
        "y_scale": F32(1.0), "y_zero_point": np.uint8(128),
    }  # fmt: skip
    y = run_exact(q_model("QLinearConv", {"x": x}, consts), {"x": x}, 1)
    assert y.min() == 0 and y.max() == 255


@pytest.mark.parametrize("group", [1, 3])
def test_conv_integer(level, nthreads, group):
    rng = np.random.default_rng(4)
    x = _q(rng, (2, 6, 9, 7), "uint8")
    w = _q(rng, (6, 6 // group, 3, 3), "uint8")
    consts = {"w": w, "x_zero_point": np.uint8(77), "w_zero_point": np.uint8(130)}
    model = q_model("ConvInteger", {"x": x}, consts, group=group, pads=[1, 0, 1, 2])
    run_exact(model, {"x": x}, nthreads)


def test_run_time_weights_are_packed_per_call(nthreads):
    rng = np.random.default_rng(6)
    x, w = _q(rng, (1, 4, 6, 6), "uint8"), _q(rng, (3, 4, 3, 3), "int8")
    consts = _qlinear_conv_consts(rng, w, "uint8", "uint8", False, True)
    order = list(consts)
    order[0:0] = ["x"]
    del consts["w"]
    model = q_model("QLinearConv", {"x": x, "w": w}, consts, order=order)
    for _ in range(2):  # a second call with other weights packs them anew
        run_exact(model, {"x": x, "w": w}, nthreads)
        w = _q(rng, w.shape, "int8")


def test_3d_convolution_is_declined_with_a_reason():
    rng = np.random.default_rng(8)
    x = _q(rng, (1, 2, 3, 4, 4), "uint8")
    consts = {"w": _q(rng, (2, 2, 1, 1, 1), "uint8")}
    sess = gossamer.load(q_model("ConvInteger", {"x": x}, consts), backends=["cython"], optimize=0)
    assert "cython" not in set(sess.placement.backend_of.values())
    assert "3-D convolution" in str(sess.placement.declined)


@pytest.mark.parametrize("k", [16, 17])  # 256 taps: the float32 sums' edge; 289: grouped GEMM
def test_depthwise_extreme_values_stay_exact(level, k):
    c = 3
    x = np.full((1, c, k + 2, k + 1), 255, np.uint8)
    x[0, 1] = 0
    w = np.full((c, 1, k, k), -128, np.int8)
    consts = {
        "x_scale": F32(1.0), "x_zero_point": np.uint8(0), "w": w, "w_scale": F32(1.0),
        "w_zero_point": np.int8(127), "y_scale": F32(2.0**18), "y_zero_point": np.int8(0),
        "b": np.array([0, 0, -(2**23)], np.int32),
    }  # fmt: skip
    y = run_exact(q_model("QLinearConv", {"x": x}, consts, group=c), {"x": x}, 2)
    assert len(np.unique(y)) > 1


def test_wrappers_reject_short_buffers_and_bad_geometry():
    from gossamer.cython_kernels._native import ext

    x = np.zeros((2, 5, 5), np.uint8)
    with pytest.raises(ValueError, match="too small"):
        ext().qpack_b_conv(x, 0, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, 0, np.empty(10, np.int16), 1)
    with pytest.raises(ValueError, match="stride"):
        ext().qpack_b_conv(x, 0, 3, 3, 0, 1, 1, 1, 1, 1, 5, 5, 0, np.empty(9999, np.int16), 1)
    ep = ext().QEpilogue(0, np.ones(1, F32), 1, 0)  # one multiplier, indexed per channel
    y = np.empty((1, 2, 5, 5), np.uint8)
    work = np.empty(100000, np.int32)
    wt = np.zeros(18, np.int16)
    with pytest.raises(ValueError, match="mult"):
        ext().qdepthwise(x.reshape(1, 2, 5, 5), 0, wt, 3, 3, 1, 1, 1, 1, 1, 1, 0, ep, y, work, 1)
    big = ext().QEpilogue(0, np.ones(2, F32), 1, 0)
    with pytest.raises(ValueError, match="taps"):
        ext().qdepthwise(x.reshape(1, 2, 5, 5), 0, np.zeros(2 * 289, np.int16), 17, 17, 1, 1, 1,
                         1, 8, 8, 0, big, y, work, 1)  # fmt: skip


@pytest.mark.parametrize("kernel", [1, 3])
@pytest.mark.parametrize("size", [(8, 8), (8, 16), (9, 15), (1, 200)])  # 64, 128, 135, 200 columns
def test_q8_conv_packing_at_every_level(level, nthreads, kernel, size):
    """q8_pack_b_conv at every SIMD level (AVX-512: 64 columns at a time, the panels past the
    last 64 in 16s, then the part panel) equals q8_pack_b of the numpy im2col: the 1x1 stride-1
    input read as is and a padded 3x3 window, both stored types, columns around multiples of 64."""
    from gossamer.cython_kernels._native import ext

    rng = np.random.default_rng(kernel * 1000 + size[0] * 7 + size[1])
    h, w = size
    c, p = 9, kernel // 2
    for xt, to in ((0, 1), (1, 0), (0, 0)):
        x = _q(rng, (c, h, w), "uint8" if xt == 0 else "int8")
        zx = int(_q(rng, (), "uint8" if xt == 0 else "int8"))
        xp = np.full((c, h + 2 * p, w + 2 * p), zx, x.dtype)
        xp[:, p : p + h, p : p + w] = x
        taps = [xp[:, ky : ky + h, kx : kx + w] for ky in range(kernel) for kx in range(kernel)]
        cols = np.stack(taps, axis=1).reshape(c * kernel * kernel, h * w)
        size_b = ext().q8_packed_size(h * w, c * kernel * kernel)
        got, want = np.full(size_b, 7, np.uint8), np.empty(size_b, np.uint8)
        ws = np.empty(h * w, np.int32)
        ext().q8_pack_b_conv(x.view(np.uint8), xt, kernel, kernel, 1, 1, 1, 1, p, p, h, w, zx,
                             to, None, got, nthreads)  # fmt: skip
        ext().q8_pack_b(np.ascontiguousarray(cols).view(np.uint8), xt, to, ws, want, nthreads)
        np.testing.assert_array_equal(got, want)


@pytest.fixture(params=[(0, 1), (1, 1), (2, 1), (1, 3), (2, 4), (2, 16)],
                ids=["dynamic-split", "pixel-split", "pixel-split-gemm", "pixel-split-3-pieces",
                     "pixel-split-gemm-4-pieces", "pixel-split-gemm-16-pieces"])  # fmt: skip
def qsplit(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Each of the int8 conv's thread splits (src/qconv_split.h) as (mode, pieces per part), put
    back after the test."""
    from gossamer.cython_kernels._native import ext

    before = ext().qsplit_mode(), ext().qsplit_pieces()
    ext().qsplit_mode(request.param[0])
    ext().qsplit_pieces(request.param[1])
    yield request.param
    ext().qsplit_mode(before[0])
    ext().qsplit_pieces(before[1])


def test_qsplit_pieces_setter():
    """qsplit_pieces reads, sets and refuses counts outside 1-16."""
    from gossamer.cython_kernels._native import ext

    before = ext().qsplit_pieces()
    try:
        assert ext().qsplit_pieces(5) == 5 and ext().qsplit_pieces() == 5
        for bad in (0, 17, -2):
            with pytest.raises(ValueError, match="qsplit_pieces"):
                ext().qsplit_pieces(bad)
        assert ext().qsplit_pieces() == 5
    finally:
        ext().qsplit_pieces(before)


def _assert_conv_pack_is_the_numpy_im2col(rng, c, h, w, kernel, stride, pad, xt, to, threads):
    """q8_pack_b_conv of a random (c, h, w) image of stored type xt (0 uint8, 1 int8), padded by
    its zero point: the panels and column sums q8_pack_b gives for the numpy im2col."""
    from gossamer.cython_kernels._native import ext

    oh, ow = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
    x = _q(rng, (c, h, w), "uint8" if xt == 0 else "int8")
    zx = int(_q(rng, (), "uint8" if xt == 0 else "int8"))
    xp = np.full((c, h + 2 * pad, w + 2 * pad), zx, x.dtype)
    xp[:, pad : pad + h, pad : pad + w] = x
    taps = [xp[:, ky : ky + stride * oh : stride, kx : kx + stride * ow : stride]
            for ky in range(kernel) for kx in range(kernel)]  # fmt: skip
    cols = np.stack(taps, axis=1).reshape(c * kernel * kernel, oh * ow)
    size_b = ext().q8_packed_size(oh * ow, c * kernel * kernel)
    got, want = np.full(size_b, 7, np.uint8), np.empty(size_b, np.uint8)
    got_s, want_s = np.full(oh * ow, 7, np.int32), np.empty(oh * ow, np.int32)
    ext().q8_pack_b_conv(x.view(np.uint8), xt, kernel, kernel, stride, stride, 1, 1, pad, pad,
                         oh, ow, zx, to, got_s, got, threads)  # fmt: skip
    ext().q8_pack_b(np.ascontiguousarray(cols).view(np.uint8), xt, to, want_s, want, 1)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_s, want_s)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("kernel, stride, size", [(1, 1, (25, 41)), (3, 1, (13, 21)),
                                                  (3, 2, (27, 20)), (1, 1, (2, 7))])  # fmt: skip
def test_q8_conv_packing_is_the_same_under_every_split(level, qsplit, threads, kernel, stride,
                                                       size):  # fmt: skip
    """q8_pack_b_conv with its column sums, big enough to run on the threads (K * N > 32768; the
    last case is not: one thread), split by im2col rows or by pixel panels: equal to q8_pack_b of
    the numpy im2col, panels cut anywhere (1025, 273 and 140 columns)."""
    rng = np.random.default_rng(kernel * 100 + stride * 10 + threads)
    h, w = size
    c, p = 40, kernel // 2
    for xt, to in ((0, 1), (1, 1)):
        _assert_conv_pack_is_the_numpy_im2col(rng, c, h, w, kernel, stride, p, xt, to, threads)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("shape, k, stride", [((1, 40, 30, 30), 3, 1), ((2, 33, 29, 31), 3, 2),
                                              ((1, 24, 45, 9), 5, 1),
                                              ((1, 20, 90, 10), 3, 1)])  # fmt: skip
def test_depthwise_and_pointwise_are_the_reference_under_every_split(level, qsplit, threads,
                                                                     shape, k, stride):  # fmt: skip
    """A depthwise QLinearConv (the 16-channel kernel by output rows where the split is by pixels
    and every part has 14 rows: 30 rows on 2 threads, 45 on 3; pieces of at least 14 rows: 90
    rows are 3 pieces per part on 2 threads, 2 on 3) and a 1x1 one (packer and GEMM), on 2 and
    3 threads: bit-identical to the reference, so the same whatever the split and the thread
    count."""
    rng = np.random.default_rng(shape[1] * 10 + k + threads)
    c = shape[1]
    x = _q(rng, shape, "uint8")
    w = _q(rng, (c, 1, k, k), "int8")
    consts = _qlinear_conv_consts(rng, w, "uint8", "uint8", True, True)
    model = q_model("QLinearConv", {"x": x}, consts, group=c, pads=[k // 2] * 4,
                    strides=[stride, stride])  # fmt: skip
    run_exact(model, {"x": x}, threads)
    w1 = _q(rng, (2 * c, c, 1, 1), "int8")
    consts = _qlinear_conv_consts(rng, w1, "uint8", "uint8", True, True)
    run_exact(q_model("QLinearConv", {"x": x}, consts), {"x": x}, threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape, m, k, stride, group", [
    ((1, 64, 7, 7), 64, 3, 1, 1),     # 49 pixels: a part of 32 and one of 17 (padding columns)
    ((1, 32, 28, 28), 48, 3, 1, 1),   # 784 pixels, K not a multiple of 64
    ((2, 40, 15, 13), 36, 3, 2, 2),   # two images, two groups (the epilogue's row offset)
    ((1, 128, 14, 14), 72, 1, 2, 1),  # a stride-2 1x1 downsampling
])  # fmt: skip
@pytest.mark.parametrize("x_dtype", ["uint8", "int8"])
def test_pack_and_gemm_in_one_pool_call_are_the_reference(level, qsplit, threads, shape, m, k,
                                                          stride, group, x_dtype):  # fmt: skip
    """With the weights' zero point 0 (A's stored zero point 0: no term needs B's column sums
    before the products) q8_conv_gemm packs and multiplies each piece of the pixels on one
    thread in one pool call (src/qgemm.h gk_q8_gemm_fusable: the pixel split of the GEMM, big
    enough to split); the input zero point is not 0. Bit-identical to the reference under every
    split, thread count, piece count, image and group."""
    rng = np.random.default_rng(shape[1] * 7 + m + k + stride + threads)
    x = _q(rng, shape, x_dtype)
    w = _q(rng, (m, shape[1] // group, k, k), "int8")
    for per_channel in (True, False):
        consts = _qlinear_conv_consts(rng, w, x_dtype, "uint8", per_channel, True)
        consts["w_zero_point"] = np.zeros(consts["w_zero_point"].shape, np.int8)
        consts["x_zero_point"] = np.array(-3 if x_dtype == "int8" else 131, x_dtype)
        model = q_model("QLinearConv", {"x": x}, consts, group=group, pads=[k // 2] * 4,
                        strides=[stride, stride])  # fmt: skip
        run_exact(model, {"x": x}, threads)


def test_q8_conv_gemm_is_the_two_calls_and_checks_its_arguments(nthreads):
    """ext.q8_conv_gemm equals q8_pack_b_conv then q8_gemm (fused or not: A's zero point 0 and
    not 0, the latter with B's sums), and refuses short buffers, a missing sum and a bad
    geometry with ValueError."""
    from gossamer.cython_kernels._native import ext

    if ext().q8_core() == 0:
        pytest.skip("no 8-bit GEMM core on this CPU")
    rng = np.random.default_rng(11 + nthreads)
    c, h, w, m, kk = 48, 12, 11, 40, 3
    k, n = c * kk * kk, h * w
    x = _q(rng, (c, h, w), "uint8")
    a = _q(rng, (m, k), "int8")
    ap = np.empty(ext().q8_packed_size(m, k), np.uint8)
    sa = np.empty(m, np.int32)
    ext().q8_pack_a(a.view(np.uint8), 1, 1, sa, ap, 1)
    ep = ext().QEpilogue(0, (rng.random(m) * 1e-4).astype(F32), 1, 0, None, 0, 0, 5.0)
    zb = np.full(1, 77, np.int32)
    for za in (None, np.full(1, 3, np.int32)):
        bp, bp2 = (np.zeros(ext().q8_packed_size(n, k), np.uint8) for _ in range(2))
        sb, sb2 = np.zeros(n, np.int32), np.zeros(n, np.int32)
        got, want = np.zeros((m, n), np.uint8), np.zeros((m, n), np.uint8)
        ext().q8_conv_gemm(x, 0, kk, kk, 1, 1, 1, 1, 1, 1, h, w, 77, sb, bp, m, ap, 1, got, ep,
                           za, zb, sa, 0, nthreads)  # fmt: skip
        ext().q8_pack_b_conv(x, 0, kk, kk, 1, 1, 1, 1, 1, 1, h, w, 77, 0, sb2, bp2, nthreads)
        ext().q8_gemm(m, n, k, ap, 1, bp2, 0, want, ep, za, zb, sa, sb2, 0, 0, nthreads)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(bp, bp2)
        np.testing.assert_array_equal(sb, sb2)
    y = np.zeros((m, n), np.uint8)
    bp = np.zeros(ext().q8_packed_size(n, k), np.uint8)
    with pytest.raises(ValueError, match="sums"):
        ext().q8_conv_gemm(x, 0, kk, kk, 1, 1, 1, 1, 1, 1, h, w, 77, None, bp, m, ap, 1, y, ep,
                           np.full(1, 3, np.int32), zb, sa, 0, nthreads)  # fmt: skip
    with pytest.raises(ValueError, match="too small"):
        ext().q8_conv_gemm(x, 0, kk, kk, 1, 1, 1, 1, 1, 1, h, w, 77, None, bp[:-1], m, ap, 1, y,
                           ep, None, zb, sa, 0, nthreads)  # fmt: skip
    with pytest.raises(ValueError, match="too small"):
        ext().q8_conv_gemm(x, 0, kk, kk, 1, 1, 1, 1, 1, 1, h, w, 77, None, bp, m, ap[:-1], 1, y,
                           ep, None, zb, sa, 0, nthreads)  # fmt: skip
    with pytest.raises(ValueError, match="q8_conv_gemm"):
        ext().q8_conv_gemm(x, 0, kk, kk, 1, 1, 1, 1, 1, 1, h + 5, w, 77, None, bp, m, ap, 1, y,
                           ep, None, zb, sa, 0, nthreads)  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("c, kernel, stride, size", [
    (64, 1, 2, (28, 28)),  # a 1x1 downsampling: every window inside x
    (48, 1, 2, (15, 13)),  # odd sizes: the last row / column never read
    (40, 3, 2, (17, 20)),  # an unpadded strided 3x3
    (30, 1, 3, (4, 5)),    # planes of 20 bytes: the last channels padded (the row reads' slack)
    (9, 2, 1, (9, 9)),
])  # fmt: skip
def test_q8_conv_packing_reads_unpadded_planes_in_place(level, qsplit, threads, c, kernel,
                                                        stride, size):  # fmt: skip
    """An unpadded convolution whose windows stay inside x packs from x's own planes (no padded
    copy; src/qconv.c q8_plane), except the last channels where fewer than 64 bytes of x follow
    the rows read: the same panels and column sums as q8_pack_b of the numpy im2col, both
    stored types, under every split and thread count."""
    rng = np.random.default_rng(c * 10 + kernel + stride + threads)
    h, w = size
    for xt, to in ((0, 1), (1, 1), (0, 0)):
        _assert_conv_pack_is_the_numpy_im2col(rng, c, h, w, kernel, stride, 0, xt, to, threads)


@pytest.mark.parametrize("fuse", [True, False])
def test_the_two_call_form_is_the_reference_too(monkeypatch, fuse):
    """qconv_kernels.FUSE_PACK_GEMM (the benchmarks' A/B switch) False runs the packer and the
    GEMM as two calls: bit-identical to the reference as the one-call form, on 2 threads."""
    from gossamer.cython_kernels import qconv_kernels

    monkeypatch.setattr(qconv_kernels, "FUSE_PACK_GEMM", fuse)
    rng = np.random.default_rng(5)
    x = _q(rng, (1, 48, 20, 20), "uint8")
    w = _q(rng, (64, 48, 3, 3), "int8")
    consts = _qlinear_conv_consts(rng, w, "uint8", "uint8", True, True)
    consts["w_zero_point"] = np.zeros(64, np.int8)
    run_exact(q_model("QLinearConv", {"x": x}, consts, pads=[1] * 4), {"x": x}, 2)
