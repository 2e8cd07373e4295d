"""The GEMM that reads B in place (src/gemm_direct.h) gives the packed GEMM's bits, and
gk_conv_gemm's unpacked-B paths (1x1 and stride-1 convs) give the packed paths' bits."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

SIZES = [  # m, n, k: 6-row tiles and 12-row panels with remainders, 1 / part / several column
    # tiles, K past one K block (256)
    (1, 1, 1),
    (5, 7, 3),
    (6, 16, 8),
    (7, 17, 16),
    (13, 31, 2),
    (12, 33, 64),
    (25, 100, 257),
    (64, 169, 520),
    (30, 70, 384),  # one K block of 384 (no short second block)
    (30, 70, 385),  # 256 + 129
    (40, 3025, 16),
]


def _packed_a(a: np.ndarray) -> np.ndarray:
    ap = np.empty(ext().packed_a_size(*a.shape), np.float32)
    ext().pack_a(a, ap, 1)
    return ap


def _epilogue(kind: str, m: int, n: int, rng: np.random.Generator):
    if kind == "none":
        return ext().Epilogue()
    bias_row = rng.standard_normal(m, dtype=np.float32)
    if kind == "bias_clip":
        return ext().Epilogue(bias_row=bias_row, clip=True, lo=-0.5, hi=0.7)
    residual = rng.standard_normal((m, n), dtype=np.float32)
    bias_col = rng.standard_normal(n, dtype=np.float32)
    if kind == "all_relu":
        return ext().Epilogue(bias_row=bias_row, bias_col=bias_col, residual=residual, clip=True,
                              lo=0.0)  # fmt: skip
    return ext().Epilogue(bias_row=bias_row, residual=residual, act=1)  # sigmoid after the sums


def _direct_level(level: str) -> bool:
    return level != "generic"


@pytest.mark.parametrize("m, n, k", SIZES)
@pytest.mark.parametrize("kind", ["none", "bias_clip", "all_relu", "sigmoid"])
def test_gemm_direct_gives_the_packed_gemms_bits(level, nthreads, m, n, k, kind):
    rng = np.random.default_rng(m * 1000 + n + k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    ld = n + 5  # B's rows are slices of a longer buffer, apart by more than n
    b = rng.standard_normal(k * ld + 3, dtype=np.float32)
    roff = (np.arange(k, dtype=np.int64) * ld + 3)[::-1].copy()  # any order of rows
    bmat = np.stack([b[o : o + n] for o in roff]) if k else np.zeros((0, n), np.float32)
    ap = _packed_a(a)
    bp = np.empty(ext().packed_b_size(k, n), np.float32)
    ext().pack_b(np.ascontiguousarray(bmat), bp, 1)
    want = np.full((m, n), np.nan, np.float32)
    ext().gemm_ep(m, n, k, ap, bp, want, _epilogue(kind, m, n, np.random.default_rng(1)), 1)
    got = np.full((m, n + 2), np.nan, np.float32)  # columns past n stay untouched
    done = ext().gemm_direct(m, n, k, ap, b, roff, got,
                             _epilogue(kind, m, n, np.random.default_rng(1)), nthreads)  # fmt: skip
    assert done == _direct_level(level)
    if done:
        np.testing.assert_array_equal(got[:, :n], want)
        assert np.isnan(got[:, n:]).all()
    else:
        assert np.isnan(got).all()


def test_gemm_direct_refuses_rows_outside_b():
    ap = _packed_a(np.ones((2, 2), np.float32))
    b = np.ones(10, np.float32)
    with pytest.raises(ValueError, match="outside b"):
        ext().gemm_direct(2, 8, 2, ap, b, np.array([0, 3], np.int64), np.empty((2, 8), np.float32),
                          ext().Epilogue(), 1)  # fmt: skip


CONVS = [
    # c, m, h, w, kh, kw, pads (top, left), dilation
    (16, 64, 55, 55, 1, 1, (0, 0), 1),  # SqueezeNet's expand 1x1
    (64, 16, 55, 55, 1, 1, (0, 0), 1),  # its squeeze
    (8, 12, 8, 8, 1, 1, (0, 0), 1),  # N = 64, a multiple of 32: in place while K <= 64
    (64, 64, 56, 56, 1, 1, (0, 0), 1),  # ResNet-50's 64 -> 64 at 56x56 (rows on few L1 sets)
    (16, 64, 55, 55, 3, 3, (1, 1), 1),  # its expand 3x3
    (5, 7, 9, 13, 3, 3, (0, 2), 1),  # unequal pads
    (4, 9, 11, 10, 3, 2, (2, 1), 2),  # dilation 2
    (3, 5, 4, 4, 5, 5, (2, 2), 1),  # windows larger than the plane
    (6, 10, 1, 40, 1, 3, (0, 1), 1),  # 1-D: one output row, C is y
    (129, 128, 1, 20, 1, 3, (0, 1), 1),  # silero's conv1d
]


@pytest.mark.parametrize("geometry", CONVS)
@pytest.mark.parametrize("residual", [False, True])
def test_conv_gemm_unpacked_b_gives_the_packed_bits(level, nthreads, geometry, residual):
    c, m, h, w, kh, kw, (ph, pw), d = geometry
    rng = np.random.default_rng(c * m + kh)
    x = rng.standard_normal((c, h, w), dtype=np.float32)
    ap = _packed_a(rng.standard_normal((m, c * kh * kw), dtype=np.float32))
    oh, ow = h + 2 * ph - (kh - 1) * d, w + 2 * pw - (kw - 1) * d
    bias = rng.standard_normal(m, dtype=np.float32)
    z = rng.standard_normal((m, oh * ow), dtype=np.float32) if residual else None
    bp = np.empty(ext().packed_b_size(c * kh * kw, oh * ow), np.float32)
    out = {}
    before = ext().direct_b_on(1)
    try:
        for on in (1, 0):
            ext().direct_b_on(on)
            y = np.full((m, oh * ow), np.nan, np.float32)
            ext().conv_gemm(ap, x, kh, kw, 1, 1, d, d, ph, pw, oh, ow, bp, y, bias, z, -1.0, 2.0,
                            True, nthreads)  # fmt: skip
            out[on] = y
    finally:
        ext().direct_b_on(before)
    np.testing.assert_array_equal(out[1], out[0])


def test_the_unpacked_b_switch_reports_its_previous_setting():
    before = ext().direct_b_on(0)
    try:
        assert ext().direct_b_on(-1) is False
        assert ext().direct_b_on(1) is False
        assert ext().direct_b_on(-1) is True
    finally:
        ext().direct_b_on(before)


BATCHED = [
    # batch, c, m, h, w, kh, kw, stride, pads (top, left)
    (4, 129, 128, 1, 5, 1, 3, 1, (0, 1)),  # silero's conv1d: one product for the four images
    (3, 6, 10, 1, 40, 1, 3, 1, (0, 0)),
    (2, 16, 24, 13, 11, 3, 3, 1, (1, 1)),  # 2-D: the images' padded planes one under the other
    (2, 16, 24, 9, 9, 1, 1, 1, (0, 0)),  # 1x1: one product per image
    (3, 5, 7, 10, 12, 3, 3, 2, (1, 1)),  # strided: packed, per image
]


@pytest.mark.parametrize("geometry", BATCHED)
@pytest.mark.parametrize("residual", [False, True])
def test_conv_gemm_batch_gives_the_per_image_packed_bits(level, nthreads, geometry, residual):
    b, c, m, h, w, kh, kw, s, (ph, pw) = geometry
    rng = np.random.default_rng(b * c + m)
    x = rng.standard_normal((b, c, h, w), dtype=np.float32)
    ap = _packed_a(rng.standard_normal((m, c * kh * kw), dtype=np.float32))
    oh, ow = (h + 2 * ph - kh) // s + 1, (w + 2 * pw - kw) // s + 1
    bias = rng.standard_normal(m, dtype=np.float32)
    z = rng.standard_normal((b, m, oh * ow), dtype=np.float32) if residual else None
    bp = np.empty(ext().packed_b_size(c * kh * kw, oh * ow), np.float32)
    y = np.full((b, m, oh * ow), np.nan, np.float32)
    ext().conv_gemm_batch(ap, x, kh, kw, s, s, 1, 1, ph, pw, oh, ow, bp, y, bias, z, -1.0, 2.0,
                          True, nthreads)  # fmt: skip
    before = ext().direct_b_on(0)
    try:
        for i in range(b):
            want = np.full((m, oh * ow), np.nan, np.float32)
            ext().conv_gemm(ap, x[i], kh, kw, s, s, 1, 1, ph, pw, oh, ow, bp, want, bias,
                            None if z is None else z[i], -1.0, 2.0, True, 1)  # fmt: skip
            np.testing.assert_array_equal(y[i], want)
    finally:
        ext().direct_b_on(before)


def test_conv_gemm_batch_refuses_an_output_of_another_batch():
    ap = _packed_a(np.ones((2, 3), np.float32))
    x = np.ones((2, 3, 1, 4), np.float32)
    bp = np.empty(ext().packed_b_size(3, 4), np.float32)
    with pytest.raises(ValueError, match="is not"):
        y = np.empty((3, 2, 4), np.float32)
        ext().conv_gemm_batch(ap, x, 1, 1, 1, 1, 1, 1, 0, 0, 1, 4, bp, y, None, None, 0.0, 0.0,
                              False, 1)  # fmt: skip


def _two_conv1d_model(rng: np.random.Generator) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    w1 = rng.standard_normal((32, 17, 3), dtype=np.float32)
    w2 = rng.standard_normal((8, 32, 3), dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["h"], pads=[1, 1]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (4, 17, 9))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in (("w1", w1), ("w2", w2))],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_batched_conv1d_replays_in_segments_with_the_packed_bits(threads):
    import gossamer

    rng = np.random.default_rng(3)
    model, x = _two_conv1d_model(rng), rng.standard_normal((4, 17, 9), dtype=np.float32)
    out = {}
    before = ext().direct_b_on(-1)
    try:
        for on in (1, 0):
            ext().direct_b_on(on)
            sess = gossamer.load(model, backends=["cython"], threads=threads)
            out[on] = [sess.run(None, {"x": x})[0] for _ in range(3)]  # node by node, segments
    finally:
        ext().direct_b_on(before)
    ref = gossamer.load(model, backends=[]).run(None, {"x": x})[0]
    for a, b in zip(out[1], out[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(out[1][2], ref, rtol=1e-4, atol=1e-4)


B_MODES = [
    # m, batch, c, h, w, kh, kw, pads, residual, mode on the AVX2 / AVX-512 levels
    (64, 1, 16, 55, 55, 1, 1, 0, False, 1),  # SqueezeNet's expand 1x1: one M block, in place
    (16, 1, 64, 55, 55, 1, 1, 0, True, 1),  # its squeeze, a residual: C is y
    (64, 1, 16, 55, 55, 3, 3, 1, False, 2),  # its expand 3x3: a padded copy
    (64, 1, 16, 55, 55, 3, 3, 1, True, 0),  # with a residual: columns dropped, packed
    (1024, 1, 256, 14, 14, 1, 1, 0, False, 0),  # ResNet-50's 256 -> 1024: several M blocks
    (512, 1, 128, 28, 28, 1, 1, 0, False, 0),  # its 128 -> 512
    (256, 1, 64, 13, 13, 1, 1, 0, False, 0),  # SqueezeNet's 64 -> 256 at 13x13
    (144, 1, 64, 13, 13, 1, 1, 0, False, 1),  # one M block exactly
    (64, 1, 512, 13, 13, 1, 1, 0, False, 0),  # K past one K block, one image
    (64, 1, 8, 8, 8, 1, 1, 0, False, 1),  # N = 64: a set every 16 rows, in place to K = 64
    (64, 1, 32, 56, 56, 1, 1, 0, False, 1),  # N = 3136: a set every 16 rows, K = 32 in place
    (64, 1, 64, 56, 56, 1, 1, 0, False, 0),  # K = 64 there: packed (slower in the model)
    (64, 1, 16, 112, 112, 1, 1, 0, False, 1),  # N = 12544: K = 16 in place
    (64, 1, 256, 56, 56, 1, 1, 0, False, 0),  # K = 256 on those rows: packed
    (64, 1, 64, 32, 32, 1, 1, 0, False, 0),  # N = 1024: every row on the same sets, packed
    (128, 4, 129, 1, 5, 1, 3, 1, False, 2),  # silero's batched conv1d
]


@pytest.mark.parametrize("case", B_MODES)
def test_conv_b_mode_reads_b_in_place_only_within_one_m_block(level, case):
    m, batch, c, h, w, kh, kw, p, residual, mode = case
    oh, ow = h + 2 * p - kh + 1, w + 2 * p - kw + 1
    got = ext().conv_b_mode(m, batch, c, h, w, kh, kw, 1, 1, 1, 1, p, p, oh, ow, residual)
    assert got == (mode if _direct_level(level) else 0)
    before = ext().direct_b_on(0)
    try:
        assert ext().conv_b_mode(m, batch, c, h, w, kh, kw, 1, 1, 1, 1, p, p, oh, ow) == 0
    finally:
        ext().direct_b_on(before)
    # strided: always packed
    assert ext().conv_b_mode(m, batch, c, h, w, kh, kw, 2, 2, 1, 1, p, p, oh, ow) == 0
