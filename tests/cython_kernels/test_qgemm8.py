"""The 8-bit GEMM (src/qgemm.h gk_q8_*: bytes x bytes on AMX-INT8 tiles, AVX512_VNNI vpdpbusd, or
portable C) and its packers: bit-identical to the exact integer product and the reference's
requantisation, over odd shapes (M, N, K off the 16 / 32 / 64 blocks), zero points 0 / 128 /
other, per tensor / per row / per column, every signedness, every core this CPU has (each chosen
explicitly with q8_set_core), 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ops._quant import requantize
from hypothesis import given, settings
from hypothesis import strategies as st

F32 = np.float32
TYPES = {0: np.uint8, 1: np.int8}
CORES = {0: "portable", 1: "vnni", 2: "amx"}


@pytest.fixture(scope="module", params=[0, 1, 2], ids=lambda c: CORES[c])
def core(request: pytest.FixtureRequest, level: str):  # type: ignore[no-untyped-def]
    """The 8-bit GEMM's core, capped explicitly; skipped where this CPU (or SIMD level) lacks
    it (AMX also needs Linux to grant the tile state, and GOSSAMER_AMX not off)."""
    got = ext().q8_set_core(request.param)
    try:
        if got != request.param:
            pytest.skip(f"no {CORES[request.param]} core at SIMD level {level} on this CPU "
                        f"(AVX512_VNNI / AMX-INT8 missing or switched off)")  # fmt: skip
        yield request.param
    finally:
        ext().q8_set_core(-1)


def _operand(rng: np.random.Generator, shape: tuple[int, ...], code: int) -> np.ndarray:
    info = np.iinfo(TYPES[code])
    return rng.integers(info.min, info.max + 1, shape).astype(TYPES[code])


def _stored_zp(z: np.ndarray, code: int, to: int) -> np.ndarray:
    """A zero point in the stored domain (qgemm.h: the top bit flipped is +-128)."""
    shift = 0 if code == to else (128 if code == 1 else -128)
    return (z.astype(np.int32) + shift).astype(np.int32)


def _zero_points(rng, count, code, kind):  # type: ignore[no-untyped-def]
    if kind == "zero":
        return np.zeros(1, np.int32)
    if kind == "mid":
        return np.full(1, 128 if code == 0 else 0, np.int32)
    return _operand(rng, (count if kind == "vector" else 1,), code).astype(np.int32)


def _exact(a, za, b, zb):  # type: ignore[no-untyped-def]
    acc = (a.astype(np.int64) - za.reshape(-1, 1)) @ (b.astype(np.int64) - zb.reshape(1, -1))
    return acc.astype(np.int32)  # wraps like int32 accumulation


def _q8_product(a, ta, za, b, tb, zb, ep, out, threads, a_to=None):  # type: ignore[no-untyped-def]
    """a's stored type a_to (default: its own), b stored as the other; sums where needed."""
    (m, k), n = a.shape, b.shape[1]
    a_to = ta if a_to is None else a_to
    b_to = 1 - a_to
    ap = np.full(ext().q8_packed_size(m, k), 0x5A, np.uint8)  # junk: the packer must fill it
    bp = np.full(ext().q8_packed_size(n, k), 0xA5, np.uint8)
    sa, sb = np.empty(m, np.int32), np.empty(n, np.int32)
    ext().q8_pack_a(a.view(np.uint8), ta, a_to, sa, ap, threads)
    ext().q8_pack_b(b.view(np.uint8), tb, b_to, sb, bp, threads)
    za2, zb2 = _stored_zp(za, ta, a_to), _stored_zp(zb, tb, b_to)
    ext().q8_gemm(m, n, k, ap, a_to, bp, b_to, out, ep, za2, zb2, sa, sb, 0, 0, threads)
    return out


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 70), n=st.integers(1, 70), k=st.integers(1, 200),
    ta=st.sampled_from([0, 1]), tb=st.sampled_from([0, 1]), a_to=st.sampled_from([0, 1]),
    zak=st.sampled_from(["zero", "mid", "other", "vector"]),
    zbk=st.sampled_from(["zero", "mid", "other", "vector"]), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_int32_product_is_exact(core, nthreads, m, n, k, ta, tb, a_to, zak, zbk, seed):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, (m, k), ta), _operand(rng, (k, n), tb)
    za, zb = _zero_points(rng, m, ta, zak), _zero_points(rng, n, tb, zbk)
    ep = ext().QEpilogue(2)
    got = _q8_product(a, ta, za, b, tb, zb, ep, np.empty((m, n), np.int32), nthreads, a_to)
    np.testing.assert_array_equal(got, _exact(a, za, b, zb))


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 50), n=st.integers(1, 50), k=st.integers(1, 150),
    ta=st.sampled_from([0, 1]), tb=st.sampled_from([0, 1]), out=st.sampled_from([0, 1]),
    per_row=st.booleans(), per_col=st.booleans(), bias_cols=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_requantised_product_is_the_reference(core, nthreads, m, n, k, ta, tb, out, per_row,
                                              per_col, bias_cols, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, (m, k), ta), _operand(rng, (k, n), tb)
    za = _operand(rng, (m if per_row else 1,), ta).astype(np.int32)
    zb = _operand(rng, (n if per_col else 1,), tb).astype(np.int32)
    mult = (rng.random((m, 1) if per_row else (1, n) if per_col else (1, 1)) * 2e-4).astype(F32)
    bias = rng.integers(-(2**20), 2**20, (1, n) if bias_cols else (m, 1)).astype(np.int32)
    zp = _operand(rng, (), out)
    ep = ext().QEpilogue(out, mult.reshape(-1), 1 if per_row else 0,
                         1 if per_col and not per_row else 0, bias.reshape(-1),
                         0 if bias_cols else 1, 1 if bias_cols else 0, float(zp))  # fmt: skip
    got = _q8_product(a, ta, za, b, tb, zb, ep, np.empty((m, n), TYPES[out]), nthreads)
    want = requantize(_exact(a, za, b, zb) + bias, mult, np.asarray(zp), np.dtype(TYPES[out]))
    np.testing.assert_array_equal(got, want)


def test_large_sums_wrap_like_int32(core):  # type: ignore[no-untyped-def]
    """K large enough that the exact sum leaves int32: the result wraps as the reference's."""
    m, n, k = 17, 33, 70000
    a = np.full((m, k), 255, np.uint8)
    b = np.full((k, n), -128, np.int8)
    za, zb = np.zeros(1, np.int32), np.full(1, 127, np.int32)
    got = _q8_product(a, 0, za, b, 1, zb, ext().QEpilogue(2), np.empty((m, n), np.int32), 1)
    np.testing.assert_array_equal(got, _exact(a, za, b, zb))


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 9), h=st.integers(1, 12), w=st.integers(1, 40), kh=st.integers(1, 3),
    kw=st.integers(1, 3), s=st.integers(1, 2), p=st.integers(0, 2), xt=st.sampled_from([0, 1]),
    to=st.sampled_from([0, 1]), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_conv_packing_is_im2col(nthreads, c, h, w, kh, kw, s, p, xt, to, seed):  # type: ignore[no-untyped-def]
    """q8_pack_b_conv (padding the zero point's byte) gives the product of q8_pack_b on the
    numpy im2col, with the same column sums."""
    rng = np.random.default_rng(seed)
    x = _operand(rng, (c, h, w), xt)
    zx = int(_operand(rng, (), xt))
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    if oh <= 0 or ow <= 0:
        return
    xp = np.full((c, h + 2 * p, w + 2 * p), zx, TYPES[xt])
    xp[:, p : p + h, p : p + w] = x
    cols = np.empty((c, kh, kw, oh, ow), TYPES[xt])
    for ky in range(kh):
        for kx in range(kw):
            cols[:, ky, kx] = xp[:, ky : ky + s * (oh - 1) + 1 : s, kx : kx + s * (ow - 1) + 1 : s]
    cols = cols.reshape(c * kh * kw, oh * ow)
    size = ext().q8_packed_size(oh * ow, c * kh * kw)
    got, want = np.full(size, 7, np.uint8), np.empty(size, np.uint8)
    gs, ws = np.empty(oh * ow, np.int32), np.empty(oh * ow, np.int32)
    ext().q8_pack_b_conv(x.view(np.uint8), xt, kh, kw, s, s, 1, 1, p, p, oh, ow, zx, to, gs, got,
                         nthreads)  # fmt: skip
    ext().q8_pack_b(cols.view(np.uint8), xt, to, ws, want, nthreads)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gs, ws)


def test_quantize_packing_is_dynamic_quantize_then_pack(nthreads):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((19, 1100)) * 3).astype(F32)
    scale, zp = F32(0.025), 131
    q = np.clip(np.rint(x / scale) + zp, 0, 255).astype(np.uint8)
    for to in (0, 1):
        size = ext().q8_packed_size(19, 1100)
        got, want = np.empty(size, np.uint8), np.empty(size, np.uint8)
        gs, ws = np.empty(19, np.int32), np.empty(19, np.int32)
        ext().q8_pack_a_quantize(x, float(scale), zp, to, gs, got, nthreads)
        ext().q8_pack_a(q, 0, to, ws, want, nthreads)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(gs, ws)


def test_bad_arguments_are_value_errors():  # type: ignore[no-untyped-def]
    ap = np.zeros(ext().q8_packed_size(4, 8), np.uint8)
    bp = np.zeros(ext().q8_packed_size(4, 8), np.uint8)
    ep, out = ext().QEpilogue(2), np.empty((4, 4), np.int32)
    with pytest.raises(ValueError, match="u8 and the other s8"):
        ext().q8_gemm(4, 4, 8, ap, 0, bp, 0, out, ep)
    with pytest.raises(ValueError, match="sums"):
        ext().q8_gemm(4, 4, 8, ap, 0, bp, 1, out, ep, np.ones(1, np.int32))
    with pytest.raises(ValueError, match="too small"):
        ext().q8_gemm(40, 4, 8, ap, 0, bp, 1, out, ep)
    with pytest.raises(ValueError, match="not a value"):
        ext().q8_pack_b_conv(np.zeros((1, 3, 3), np.uint8), 1, 1, 1, 1, 1, 1, 1, 0, 0, 3, 3,
                             200, 0, None, bp, 1)  # fmt: skip


@pytest.mark.parametrize("out", [0, 1], ids=["u8", "s8"])
@pytest.mark.parametrize("bias_kind", ["none", "row", "col"])
@pytest.mark.parametrize("mult_kind", ["scalar", "row", "col", "element"])
def test_byte_epilogue_every_case_tail_and_saturation(core, nthreads, out, bias_kind, mult_kind):  # type: ignore[no-untyped-def]
    """The byte outputs' specialised epilogue loops (one per output type, bias kind and
    multiplier kind; full 32-column rows and 16-column / masked tails): bit-identical to the
    reference with multipliers from 0 to ones whose products overflow float32 (+-inf), sums near
    the int32 edges, and zero points at the type's edges."""
    rng = np.random.default_rng(hash((out, bias_kind, mult_kind)) % 2**32)
    m, k = 37, 20
    for n in (1, 15, 16, 17, 31, 32, 33, 48, 64, 70):
        a, b = _operand(rng, (m, k), 1), _operand(rng, (k, n), 0)
        za, zb = np.zeros(1, np.int32), rng.integers(0, 256, 1).astype(np.int32)
        shape = {"scalar": (1, 1), "row": (m, 1), "col": (1, n), "element": (m, n)}[mult_kind]
        mult = (10.0 ** rng.uniform(-7, 3, shape)).astype(F32)
        mult.flat[::7] = 0.0
        mult.flat[3::11] = 3e38  # finite, but most products overflow to +-inf
        rs = {"scalar": 0, "row": 1, "col": 0, "element": n}[mult_kind]
        cs = {"scalar": 0, "row": 0, "col": 1, "element": 1}[mult_kind]
        if bias_kind == "none":
            bias, brs, bcs = None, 0, 0
        else:
            bshape = (m, 1) if bias_kind == "row" else (1, n)
            bias = rng.integers(-(2**31), 2**31, bshape, dtype=np.int64).astype(np.int32)
            bias.flat[::2] = rng.integers(-3000, 3000, bias.flat[::2].shape)
            brs, bcs = (1, 0) if bias_kind == "row" else (0, 1)
        lo, hi = (0, 255) if out == 0 else (-128, 127)
        zp = int(rng.choice([lo, hi, (lo + hi) // 2, lo + 3]))
        flat = None if bias is None else bias.reshape(-1)
        ep = ext().QEpilogue(out, mult.reshape(-1), rs, cs, flat, brs, bcs, float(zp))
        got = _q8_product(a, 1, za, b, 0, zb, ep, np.empty((m, n), TYPES[out]), nthreads)
        acc = _exact(a, za, b, zb) + (0 if bias is None else bias)
        want = requantize(acc, mult, np.asarray(zp), np.dtype(TYPES[out]))
        np.testing.assert_array_equal(got, want, err_msg=f"n={n}")


@pytest.mark.parametrize("k", [1, 3, 4, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65, 96, 130])
def test_small_and_edge_k_every_block_width(core, nthreads, k):  # type: ignore[no-untyped-def]
    """K up to 16 / 32 is padded to 16 / 32 (A blocks of 16- or 32-byte rows, AMX tiles to
    match), larger K to a multiple of 64: exact int32 products on both sides of each edge, both
    signednesses, zero points on both operands (the row / column sums), a 1x1 conv's B from
    q8_pack_b_conv, and the requantised bytes."""
    rng = np.random.default_rng(k)
    kp = 16 if k <= 16 else 32 if k <= 32 else -(-k // 64) * 64
    assert ext().q8_packed_size(33, k) == 3 * 16 * kp
    for ta, tb in ((1, 0), (0, 1), (0, 0)):
        m, n = 37, 45
        a, b = _operand(rng, (m, k), ta), _operand(rng, (k, n), tb)
        za = _operand(rng, (m,), ta).astype(np.int32)
        zb = _operand(rng, (1,), tb).astype(np.int32)
        got = _q8_product(a, ta, za, b, tb, zb, ext().QEpilogue(2), np.empty((m, n), np.int32),
                          nthreads)  # fmt: skip
        np.testing.assert_array_equal(got, _exact(a, za, b, zb))
    # a 1x1 convolution: the activations packed by the conv packer as B
    c, h, w = k, 5, 9
    x = _operand(rng, (c, h, w), 0)
    wt = _operand(rng, (20, c), 1)
    ap = np.empty(ext().q8_packed_size(20, c), np.uint8)
    bp = np.empty(ext().q8_packed_size(h * w, c), np.uint8)
    ext().q8_pack_a(wt.view(np.uint8), 1, 1, None, ap, nthreads)
    ext().q8_pack_b_conv(x.view(np.uint8), 0, 1, 1, 1, 1, 1, 1, 0, 0, h, w, 0, 0, None, bp,
                         nthreads)  # fmt: skip
    mult = (rng.random(20) * 3e-3).astype(F32)
    ep = ext().QEpilogue(0, mult, 1, 0, None, 0, 0, 11.0)
    out = np.empty((20, h * w), np.uint8)
    ext().q8_gemm(20, h * w, c, ap, 1, bp, 0, out, ep, None, None, None, None, 0, 0, nthreads)
    acc = _exact(wt, np.zeros(1, np.int32), x.reshape(c, h * w), np.zeros(1, np.int32))
    want = requantize(acc, mult.reshape(-1, 1), np.asarray(11), np.dtype(np.uint8))
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("mode, pieces", [(0, 1), (2, 1), (2, 4), (2, 16)])
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("m, n, k", [(64, 20, 300), (40, 33, 200), (96, 100, 64), (33, 257, 40),
                                     (16, 1000, 27)])  # fmt: skip
def test_pixel_split_of_the_product(core, mode, pieces, threads, m, n, k):  # type: ignore[no-untyped-def]
    """The GEMM's tasks as the pool's dynamic chunks (qsplit_mode 0) and in static parts of the
    columns (mode 2, src/qconv_split.h: pairs of B panels, a part empty where n is under 32 per
    thread), each part whole or in 4 or 16 pieces (many empty), every product over QPAR_MIN so
    on the threads: exact either way."""
    rng = np.random.default_rng(m * n + k + threads)
    a, b = _operand(rng, (m, k), 1), _operand(rng, (k, n), 0)
    za, zb = np.zeros(1, np.int32), _operand(rng, (1,), 0).astype(np.int32)
    before = ext().qsplit_mode(), ext().qsplit_pieces()
    try:
        ext().qsplit_mode(mode)
        ext().qsplit_pieces(pieces)
        got = _q8_product(a, 1, za, b, 0, zb, ext().QEpilogue(2), np.full((m, n), 7, np.int32),
                          threads)  # fmt: skip
    finally:
        ext().qsplit_mode(before[0])
        ext().qsplit_pieces(before[1])
    np.testing.assert_array_equal(got, _exact(a, za, b, zb))
