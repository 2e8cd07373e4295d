"""The BF16 GEMM (src/bf16.h) against its numpy definition (conformance/bf16_reference.py), bit for
bit: the emulation at every SIMD level this CPU has, and the real vdpbf16ps against the emulation
where the CPU has AVX512_BF16 (never on a machine without it: that test is skipped there). AMX's
tdpbf16ps has arithmetic of its own (docs/bf16.md): it is checked against the exact product of the
bf16 operands at bf16_reference.amx_error_bound, and on the cases that show how it differs."""

from __future__ import annotations

import math
from collections.abc import Iterator

import ml_dtypes
import numpy as np
import pytest
from gossamer.conformance.bf16_reference import amx_error_bound, bf16_matmul, fma_ftz, to_bf16
from gossamer.cython_kernels._native import ext
from hypothesis import given, settings
from hypothesis import strategies as st

F32 = np.float32


@pytest.fixture(scope="module")
def emulated() -> Iterator[None]:
    before = ext().bf16_impl()
    assert ext().bf16_set_impl("emulated") == "emulated"
    yield
    ext().bf16_set_impl(before)


def bits(x: np.ndarray) -> np.ndarray:
    """float32 bits, every NaN as one pattern (NaN matches NaN, as in the conformance suite)."""
    out = np.ascontiguousarray(x, F32).view(np.uint32).copy()
    out[np.isnan(x)] = 0x7FC00000
    return out


def packed_b(b: np.ndarray, threads: int = 1) -> np.ndarray:
    k, n = b.shape
    out = np.zeros(ext().bf16_packed_b_size(k, n), np.uint32)
    ext().bf16_pack_b(np.asarray(b, F32), out, threads)
    return out


def gemm(a: np.ndarray, b: np.ndarray, threads: int = 1, **epilogue: object) -> np.ndarray:
    c = np.full((a.shape[0], b.shape[1]), np.nan, F32)
    ext().bf16_gemm_a(a, packed_b(b, threads), b.shape[1], c, ext().Epilogue(**epilogue), threads)
    return c


def values(rng: np.random.Generator, shape: tuple[int, ...], spread: float) -> np.ndarray:
    """Normal values times 2^[-spread, spread]: many magnitudes, so the accumulator rounds often."""
    scale = np.exp2(rng.uniform(-spread, spread, shape))
    return (rng.standard_normal(shape) * scale).astype(F32)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 30), k=st.integers(0, 70), n=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_emulation_matches_the_reference_bit_for_bit(
    simd: str, threads: int, emulated: None, m: int, k: int, n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    a, b = values(rng, (m, k), 20), values(rng, (k, n), 20)
    np.testing.assert_array_equal(bits(gemm(a, b, threads)), bits(bf16_matmul(a, b)))


def test_large_products_match_the_reference_with_any_thread_count(simd: str, emulated: None):
    rng = np.random.default_rng(1)
    a, b = values(rng, (75, 301), 4), values(rng, (301, 131), 4)
    want = bits(bf16_matmul(a, b))
    for threads in (1, 2, 3):
        np.testing.assert_array_equal(bits(gemm(a, b, threads)), want)


def test_strided_left_operand_is_read_as_given(simd: str, emulated: None) -> None:
    rng = np.random.default_rng(2)
    a, b = values(rng, (40, 23), 3), values(rng, (40, 9), 3)
    np.testing.assert_array_equal(bits(gemm(a.T, b)), bits(bf16_matmul(a.T.copy(), b)))


def test_epilogue_is_the_float32_one_after_the_bf16_product(simd: str, emulated: None) -> None:
    rng = np.random.default_rng(3)
    a, b = values(rng, (13, 29), 3), values(rng, (29, 37), 3)
    row, col = values(rng, (13,), 2), values(rng, (37,), 2)
    residual = values(rng, (13, 37), 2)
    got = gemm(a, b, bias_row=row, bias_col=col, residual=residual, clip=True, lo=-1.0, hi=2.0)
    want = bf16_matmul(a, b) + row[:, None] + col[None, :] + residual  # the epilogue's order
    np.testing.assert_array_equal(bits(got), bits(np.clip(want, F32(-1), F32(2))))


def test_underflowing_sums_are_flushed_and_denormal_inputs_read_as_zero(emulated: None) -> None:
    tiny = F32(2.0**-70)
    a = np.array([[tiny, tiny, F32(1e-39), 3.0]], F32)  # 1e-39: a float32 denormal
    b = np.array([[tiny], [-tiny * 3], [F32(1e30)], [0.0]], F32)
    got = gemm(a, b)
    assert bits(got)[0, 0] == bits(bf16_matmul(a, b))[0, 0]
    assert got[0, 0] == 0.0  # 2^-140 products: below 2^-126, flushed; the denormal reads as 0


def test_infinities_and_nans_propagate_as_in_the_reference(simd: str, emulated: None) -> None:
    a = np.array([[np.inf, 1.0], [np.nan, 1.0], [np.inf, -np.inf], [3e38, 3e38]], F32)
    b = np.array([[1.0, 0.0], [2.0, 1.0]], F32)
    np.testing.assert_array_equal(bits(gemm(a, b)), bits(bf16_matmul(a, b)))


@pytest.mark.parametrize(
    "x",
    [0.0, -0.0, 1.0, 1.00390625, 1.01171875, 3.0e38, 3.4028235e38, 1.1754944e-38, 1.17e-38,
     1e-39, -1e-39, 1e-45, np.inf, -np.inf, 65504.0, -2.5e-7],
)  # fmt: skip
def test_rounding_to_bf16_is_nearest_even_with_denormals_as_zero(x: float) -> None:
    v = np.array([x], F32)
    out = np.zeros(1, np.uint16)
    ext().bf16_round(v, out)
    got = out.view(ml_dtypes.bfloat16).astype(F32)
    assert bits(got)[0] == bits(to_bf16(v))[0]


def test_pair_step_rounds_once_per_fma() -> None:
    # 1 + 2^-24 is not a float32: a fused step keeps the product's bits until the one rounding
    acc = np.array([1.0], F32)
    x, y = np.array([2.0**-12], F32), np.array([2.0**-12 + 2.0**-19], F32)
    assert fma_ftz(x, y, acc)[0] == F32(1.0) + F32(2.0**-23)  # rounds up past the half ulp


def test_packing_float32_panels_equals_packing_the_matrix() -> None:
    rng = np.random.default_rng(4)
    b = values(rng, (23, 41), 3)
    b32 = np.zeros(ext().packed_b_size(23, 41), F32)
    ext().pack_b(b, b32, 1)
    out = np.zeros(ext().bf16_packed_b_size(23, 41), np.uint32)
    ext().bf16_pack_b_from_packed(23, 41, b32, out, 1)
    np.testing.assert_array_equal(out, packed_b(b))


@pytest.mark.parametrize("threads", [1, 2])
def test_packing_many_panels_in_groups_equals_panel_by_panel(threads: int) -> None:
    """bf16_pack_b of contiguous columns packs 16 panels at a time, pairs outer (bf16.c): the same
    panels as rounding the float32 panels, across group ends, a partial last panel, odd K."""
    rng = np.random.default_rng(10)
    b = values(rng, (37, 16 * 16 * 2 + 21), 3)  # 2 groups of 16 panels, then 2 more (1 partial)
    b32 = np.zeros(ext().packed_b_size(*b.shape), F32)
    ext().pack_b(b, b32, 1)
    want = np.zeros(ext().bf16_packed_b_size(*b.shape), np.uint32)
    ext().bf16_pack_b_from_packed(*b.shape, b32, want, 1)
    np.testing.assert_array_equal(packed_b(b, threads), want)
    out = np.full_like(want, 0xDEAD)  # the padding is written, not left as found
    ext().bf16_pack_b(b, out, threads)
    np.testing.assert_array_equal(out, want)


def reference_packed_a(a: np.ndarray) -> np.ndarray:
    """bf16.h's A layout in numpy: 16-row panels of blocks of 16 rows x 16 pairs."""
    m, k = a.shape
    pp = -(-max(-(-k // 2), 1) // 16) * 16  # pairs, padded to 16
    half = np.zeros((-(-m // 16) * 16, 2 * pp), np.uint32)
    half[:m, :k] = to_bf16(a).view(np.uint32) >> 16
    pairs = half[:, 0::2] | (half[:, 1::2] << 16)  # rows x pp
    return pairs.reshape(-1, 16, pp // 16, 16).transpose(0, 2, 1, 3).reshape(-1)


@pytest.mark.parametrize("k", [1, 31, 513, 1101])  # runs of 256 pairs: none, one, several + tail
def test_packing_a_equals_the_layout_in_numpy(k: int) -> None:
    rng = np.random.default_rng(11)
    a = values(rng, (19, k), 3)
    out = np.full(ext().bf16_packed_a_size(19, k), 0xDEAD, np.uint32)
    ext().bf16_pack_a(a, out, 2)
    np.testing.assert_array_equal(out, reference_packed_a(a))
    ext().bf16_pack_a(np.asfortranarray(a), out, 1)  # strided rows: the element-wise path
    np.testing.assert_array_equal(out, reference_packed_a(a))


def test_without_an_implementation_the_gemm_refuses_to_run() -> None:
    before = ext().bf16_impl()
    try:
        ext().bf16_set_impl("none")
        with pytest.raises(RuntimeError, match="no bf16 implementation"):
            gemm(np.ones((2, 2), F32), np.ones((2, 2), F32))
    finally:
        ext().bf16_set_impl(before)


def test_native_is_refused_where_the_cpu_lacks_avx512_bf16() -> None:
    if ext().bf16_cpu_native():
        pytest.skip("this CPU has AVX512_BF16")
    before = ext().bf16_impl()
    try:
        assert ext().bf16_set_impl("native") == "none"
    finally:
        ext().bf16_set_impl(before)


@pytest.fixture
def vdp_only() -> Iterator[None]:
    """The native implementation with the AMX tiles switched off: vdpbf16ps itself."""
    if not ext().bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16: the instruction cannot run here")
    before, amx_before = ext().bf16_impl(), ext().bf16_amx_enabled()
    ext().bf16_set_impl("native")
    ext().bf16_set_amx(False)
    try:
        assert not ext().bf16_amx()
        yield
    finally:
        ext().bf16_set_amx(amx_before)
        ext().bf16_set_impl(before)


def test_vdpbf16ps_matches_the_emulation_bit_for_bit(vdp_only: None) -> None:
    rng = np.random.default_rng(5)
    for m, k, n in [(1, 1, 1), (13, 17, 33), (12, 64, 32), (75, 301, 131), (7, 0, 5)]:
        a, b = values(rng, (m, k), 20), values(rng, (k, n), 20)
        native = gemm(a, b, 2)
        ext().bf16_set_impl("emulated")
        np.testing.assert_array_equal(bits(native), bits(gemm(a, b, 2)))
        np.testing.assert_array_equal(bits(native), bits(bf16_matmul(a, b)))
        ext().bf16_set_impl("native")


def test_vdpbf16ps_keeps_a_sum_that_rounds_up_to_the_smallest_normal(vdp_only: None) -> None:
    # pair 0: acc = 2^-126 (odd), then + 2^-149 (even): 2^-126 + 2^-149, exact; pair 1 (odd: the
    # zero pad) then + (-1.125 * 2^-149): exactly 2^-126 - 2^-152, below 2^-126 before rounding,
    # 2^-126 after. The flush looks at the rounded result: 2^-126 stays (seen on the instruction)
    a = np.array([[2.0**-75, 2.0**-63, -(2.0**-75)]], F32)
    b = np.array([[2.0**-74], [2.0**-63], [1.125 * 2.0**-74]], F32)
    got, want = gemm(a, b), bf16_matmul(a, b)
    assert got[0, 0] == want[0, 0] == F32(2.0**-126)


def test_vdpbf16ps_propagates_a_nan_operand_as_the_reference_says(vdp_only: None) -> None:
    a = np.array([[np.nan, 1.0], [1.0, np.inf], [np.inf, -np.inf]], F32)
    b = np.array([[1.0], [0.0]], F32)
    got = gemm(a, b)
    assert np.isnan(got).tolist() == np.isnan(bf16_matmul(a, b)).tolist() == [[True]] * 3


def exact(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product of the bf16-rounded operands in float64, and sum_k |a_k b_k|."""
    a64, b64 = to_bf16(a).astype(np.float64), to_bf16(b).astype(np.float64)
    return a64 @ b64, np.abs(a64) @ np.abs(b64)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_amx_is_within_its_bound_of_the_exact_product(amx: None, threads: int) -> None:
    rng = np.random.default_rng(6)
    shapes = [(1, 1, 1), (12, 32, 16), (24, 32, 32), (13, 17, 33), (25, 33, 17), (30, 70, 50),
              (75, 301, 131), (7, 0, 5), (48, 576, 64), (5, 1000, 3)]  # fmt: skip
    for m, k, n in shapes:
        a, b = values(rng, (m, k), 6), values(rng, (k, n), 6)
        assert ext().bf16_amx()
        got = gemm(a, b, threads)
        want, scale = exact(a, b)
        err = np.abs(got.astype(np.float64) - want)
        assert np.all(err <= amx_error_bound(k) * scale), (m, k, n, float(np.max(err / scale)))


def test_amx_bits_do_not_depend_on_the_thread_count(amx: None) -> None:
    rng = np.random.default_rng(7)
    a, b = values(rng, (75, 301), 4), values(rng, (301, 131), 4)
    one = bits(gemm(a, b, 1))
    for threads in (2, 3):
        np.testing.assert_array_equal(bits(gemm(a, b, threads)), one)


def test_amx_epilogue_is_the_float32_one(amx: None) -> None:
    rng = np.random.default_rng(8)
    a, b = values(rng, (29, 45), 2), values(rng, (45, 37), 2)
    row, residual = values(rng, (29,), 2), values(rng, (29, 37), 2)
    raw = gemm(a, b)
    got = gemm(a, b, bias_row=row, residual=residual, clip=True, lo=-1.0, hi=2.0)
    np.testing.assert_array_equal(bits(got), bits(np.clip(raw + row[:, None] + residual, -1, 2)))


@pytest.mark.parametrize("k", [45, 300])  # rows of tiles outer (K <= 128) / columns outer
@pytest.mark.parametrize("threads", [1, 2])
def test_amx_fused_epilogue_gives_the_float32_epilogues_bits(amx: None, k: int, threads: int):
    """The AMX tiles apply the sums and the clip on their way to C (bf16_store_ep): the float32
    epilogue's additions in its order, NaN kept by the clip, partial tiles in both directions;
    an activation (LeakyRelu) after them as the float32 epilogue computes it."""
    rng = np.random.default_rng(9)
    m, n = 77, 90  # 3 row tiles of 32 (the last of 13), 3 column tiles (the last of 26)
    a, b = values(rng, (m, k), 2), values(rng, (k, n), 2)
    a[5, 3] = np.nan
    row, col, residual = values(rng, (m,), 2), values(rng, (n,), 2), values(rng, (m, n), 2)
    raw = gemm(a, b, threads)
    assert np.isnan(raw[5]).all() and not np.isnan(raw[6]).any()
    got = gemm(a, b, threads, bias_row=row, bias_col=col, residual=residual, clip=True, lo=-1.0,
               hi=2.0)  # fmt: skip
    summed = raw + row[:, None] + col[None, :] + residual  # the epilogue's order
    np.testing.assert_array_equal(bits(got), bits(np.clip(summed, F32(-1), F32(2))))
    assert np.isnan(got[5]).all()
    leaky = gemm(a, b, threads, bias_col=col, act=5, alpha=0.25)  # GK_ACT_LEAKYRELU
    plain = raw + col[None, :]
    np.testing.assert_array_equal(bits(leaky), bits(np.where(plain < 0, F32(0.25) * plain, plain)))


def test_amx_differs_from_vdpbf16ps_as_documented(amx: None) -> None:
    # 1. a product below 2^-126 reads as zero, even where the sum it joins is normal: pair
    #    (2^-75 * 2^-60, 1 * 2^-125); vdpbf16ps adds 2^-135 to 2^-125, tdpbf16ps drops it
    a = np.array([[2.0**-75, 1.0]], F32)
    b = np.array([[2.0**-60], [2.0**-125]], F32)
    assert gemm(a, b)[0, 0] == F32(2.0**-125)
    assert bf16_matmul(a, b)[0, 0] == F32(2.0**-125 + 2.0**-135)
    # 2. a pair's two products are summed before they are rounded: (1 + 2^-30) - 1 is 2^-30 on
    #    the tiles, 0 with vdpbf16ps (1 + 2^-30 rounds to 1 in its odd-then-even steps)
    a = np.array([[1.0, 2.0**-30, -1.0]], F32)
    b = np.ones((3, 1), F32)
    assert gemm(a, b)[0, 0] == F32(2.0**-30)
    assert bf16_matmul(a, b)[0, 0] == 0.0


def test_amx_switch_selects_vdpbf16ps_and_back(amx: None) -> None:
    a = np.array([[1.0, 2.0**-30, -1.0]], F32)
    b = np.ones((3, 1), F32)
    assert ext().bf16_set_amx(False) is False
    try:
        assert gemm(a, b)[0, 0] == 0.0  # vdpbf16ps's bits
    finally:
        assert ext().bf16_set_amx(True) is True
    assert gemm(a, b)[0, 0] == F32(2.0**-30)


def test_packed_panels_are_padded_with_zero_pairs() -> None:
    k, n, m = 5, 3, 2  # 3 pairs, padded to 16
    assert ext().bf16_packed_b_size(k, n) == 16 * 16
    assert ext().bf16_packed_a_size(m, k) == 16 * 16
    out = np.full(ext().bf16_packed_a_size(m, k), 0xDEAD, np.uint32)
    ext().bf16_pack_a(np.ones((m, k), F32), out, 1)
    blocks = out.reshape(16, 16)  # one block: 16 rows of 16 pairs
    assert np.all(blocks[:m, :3] != 0) and not np.any(blocks[:m, 3:]) and not np.any(blocks[m:])


@pytest.mark.parametrize(
    "c, h, w, kh, kw, sh, sw, dh, dw, ph, pw",
    [(3, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1), (4, 10, 7, 3, 3, 2, 2, 1, 1, 1, 0),
     (2, 12, 12, 7, 7, 2, 2, 1, 1, 3, 3), (5, 6, 8, 1, 1, 2, 2, 1, 1, 0, 0),
     (3, 9, 9, 3, 2, 1, 1, 2, 2, 2, 1), (1, 3, 3, 11, 11, 1, 1, 1, 1, 5, 5)],
)  # fmt: skip
def test_im2col_into_bf16_panels_equals_float32_panels_then_rounding(
    c: int, h: int, w: int, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ph: int, pw: int
) -> None:
    rng = np.random.default_rng(9)
    x = values(rng, (c, h, w), 3)
    x[0, 0, :2] = [np.nan, 1e-39]  # a NaN and a denormal keep their bits through either path
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    k, n = c * kh * kw, oh * ow
    b32 = np.zeros(ext().packed_b_size(k, n), F32)
    ext().pack_b_conv(x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, b32, 1)
    want = np.zeros(ext().bf16_packed_b_size(k, n), np.uint32)
    ext().bf16_pack_b_from_packed(k, n, b32, want, 1)
    for threads in (1, 2):
        got = np.full(want.shape, 0xDEADBEEF, np.uint32)
        assert ext().bf16_pack_b_conv(x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, got, threads)
        np.testing.assert_array_equal(got, want)


def test_im2col_into_bf16_panels_declines_over_121_taps() -> None:
    x = np.ones((1, 12, 12), F32)
    out = np.zeros(ext().bf16_packed_b_size(144, 1), np.uint32)
    assert not ext().bf16_pack_b_conv(x, 12, 12, 1, 1, 1, 1, 0, 0, 1, 1, out, 1)


@pytest.mark.parametrize("impl", ["emulated", "native-vdp", "native-amx"])
def test_a_batch_in_one_call_gives_each_matrix_bits(impl: str, monkeypatch) -> None:
    """bf16_gemm_batched (attention's per-head products in one call) gives, per matrix, the bits
    of bf16_gemm_a on that matrix: A per matrix or one A for all, B strided (a transposed view,
    as K^T), a column bias; then a MatMul node with a batched right operand takes that one call
    and gives the bits of its per-matrix loop (bf16_matmul.ONE_CALL off)."""
    from gossamer.cython_kernels import bf16_matmul
    from gossamer.refimpl.ir import Node

    before, amx_before = ext().bf16_impl(), ext().bf16_amx_enabled()
    want_impl = "emulated" if impl == "emulated" else "native"
    if ext().bf16_set_impl(want_impl) != want_impl:
        ext().bf16_set_impl(before)
        pytest.skip("this CPU has no AVX512_BF16")
    if impl == "native-amx" and not ext().bf16_set_amx(True):
        ext().bf16_set_impl(before)
        pytest.skip("no AMX-BF16 here")
    if impl == "native-vdp":
        ext().bf16_set_amx(False)
    try:
        rng = np.random.default_rng(21)
        batch, m, k, n = 5, 19, 37, 45
        b = values(rng, (batch, n, k), 3).transpose(0, 2, 1)  # (batch, k, n), strided
        bias = values(rng, (n,), 1)
        for a in (values(rng, (batch, m, k), 3), values(rng, (1, m, k), 3)):
            c = np.full((batch, m, n), np.nan, F32)
            scratch = np.zeros(ext().bf16_packed_b_size(k, n), np.uint32)
            ext().bf16_gemm_batched(a, b, c, ext().Epilogue(bias_col=bias), scratch, 2)
            for i in range(batch):
                one = gemm(a[i % a.shape[0]], b[i], 2, bias_col=bias)
                assert np.array_equal(bits(c[i]), bits(one))
        with pytest.raises(ValueError, match="K"):
            ext().bf16_gemm_batched(a[:, :, :-1], b, c, ext().Epilogue(), scratch, 1)
        with pytest.raises(ValueError, match="A matrices"):
            ext().bf16_gemm_batched(a[:1].repeat(2, 0), b, c, ext().Epilogue(), scratch, 1)

        calls = []
        real = ext().bf16_gemm_batched

        def spy(*args):
            calls.append(args[1].shape)
            return real(*args)

        x, y = values(rng, (2, 3, m, k), 3), values(rng, (2, 3, k, n), 3)
        node = Node("MatMul", ["x", "y"], ["z"], {}, name="mm")
        mat_mul = bf16_matmul.prepare_plain_matmul(node, {})
        with monkeypatch.context() as patch:
            patch.setattr(ext(), "bf16_gemm_batched", spy)
            got = mat_mul(x, y)
        assert calls == [(6, k, n)]
        bf16_matmul.ONE_CALL = False
        try:
            loop = mat_mul(x, y)
        finally:
            bf16_matmul.ONE_CALL = True
        assert np.array_equal(bits(got), bits(loop))
    finally:
        ext().bf16_set_amx(amx_before)
        ext().bf16_set_impl(before)


# ---- Gelu on the AMX tiles (bf16_kernels.inc: bf16_ep_rows' gelu) --------------------------------

GELU = 6  # GK_ACT_GELU


@pytest.fixture
def gelu_setting() -> Iterator[None]:
    before = ext().bf16_gemm_set_gelu_tile(None)
    yield
    ext().bf16_gemm_set_gelu_tile(before)


def gelu_gemm(a: np.ndarray, b: np.ndarray, threads: int, in_tile: bool, **ep: object):
    ext().bf16_gemm_set_gelu_tile(in_tile)
    return gemm(a, b, threads, act=GELU, **ep)


def gelu64(x: np.ndarray) -> np.ndarray:
    """x/2 (1 + erf(x / sqrt 2)) in float64."""
    x64 = x.astype(np.float64)
    return 0.5 * x64 * (1.0 + np.vectorize(math.erf)(x64 / math.sqrt(2.0)))


@pytest.mark.parametrize("k", [45, 300])  # rows of tiles outer (K <= 128) / columns outer
@pytest.mark.parametrize("threads", [1, 2])
def test_amx_gelu_in_the_tile_gives_the_float32_epilogues_bits(
    amx: None, gelu_setting: None, k: int, threads: int
) -> None:
    """Gelu in registers on the tile's way to C: the bits of the float32 epilogue's pass over
    the stored tile (the switch off), after the sums and the clip, on partial tiles in both
    directions, NaN and infinities kept; and Gelu of the sums to float32's accuracy."""
    rng = np.random.default_rng(10)
    m, n = 77, 90  # 3 row tiles of 32 (the last of 13), 3 column tiles (the last of 26)
    a, b = values(rng, (m, k), 1), values(rng, (k, n), 1)
    a[5, 3] = np.nan
    a[0] = 0.0  # row 0's sums are its bias + residual: the special values below
    col, residual = values(rng, (n,), 1), values(rng, (m, n), 2)
    col[:12] = 0.0
    residual[0, :12] = [np.inf, -np.inf, -10.0, -4.0, -1.3119, 1.3119, 0.0, -0.0, 100.0, -100.0,
                        3e38, -2.5e-7]  # fmt: skip
    ep = dict(bias_col=col, residual=residual)
    in_tile, over = gelu_gemm(a, b, threads, True, **ep), gelu_gemm(a, b, threads, False, **ep)
    np.testing.assert_array_equal(bits(in_tile), bits(over))
    assert np.isnan(in_tile[5]).all() and not np.isnan(in_tile[6]).any()
    summed = gemm(a, b, threads, **ep)
    ok = np.isfinite(summed)
    np.testing.assert_allclose(in_tile[ok], gelu64(summed[ok]), rtol=1e-5, atol=3e-7)
    assert in_tile[0, 0] == np.inf  # (-inf: NaN, as the float32 epilogue's gk_geluf gives)
    clipped = dict(ep, clip=True, lo=-3.0, hi=2.0)
    in_tile = gelu_gemm(a, b, threads, True, **clipped)
    np.testing.assert_array_equal(bits(in_tile), bits(gelu_gemm(a, b, threads, False, **clipped)))


def test_amx_gelu_in_the_tile_matches_the_float32_epilogue_over_the_float_range(
    amx: None, gelu_setting: None
) -> None:
    """Every 65,537th float32 bit pattern (NaNs, infinities, denormals, both signs) as the
    residual of a zero product: Gelu in the tile and the float32 epilogue's, bit for bit."""
    patterns = np.arange(0, 2**32, 65537, dtype=np.uint64).astype(np.uint32)
    residual = patterns[: 256 * 256].view(F32).reshape(256, 256).copy()
    a, b = np.zeros((256, 32), F32), np.zeros((32, 256), F32)
    for threads in (1, 2):
        in_tile = gelu_gemm(a, b, threads, True, residual=residual)
        over = gelu_gemm(a, b, threads, False, residual=residual)
        np.testing.assert_array_equal(bits(in_tile), bits(over))


def test_gelu_elsewhere_is_the_float32_epilogues_whatever_the_switch(
    level: str, nthreads: int, gelu_setting: None
) -> None:
    """Off the AMX tiles (the emulation at every SIMD level; vdpbf16ps where the CPU has it) the
    Gelu is the float32 epilogue's pass over C: the switch changes nothing."""
    rng = np.random.default_rng(11)
    a, b = values(rng, (45, 70), 1), values(rng, (70, 37), 1)
    col = values(rng, (37,), 1)
    before, amx_before = ext().bf16_impl(), ext().bf16_amx_enabled()
    impls = ["emulated"] + (["native"] if ext().bf16_cpu_native() else [])
    try:
        ext().bf16_set_amx(False)
        for impl in impls:
            ext().bf16_set_impl(impl)
            assert not ext().bf16_amx()
            on = gelu_gemm(a, b, nthreads, True, bias_col=col)
            np.testing.assert_array_equal(
                bits(on), bits(gelu_gemm(a, b, nthreads, False, bias_col=col))
            )
            summed = gemm(a, b, nthreads, bias_col=col)
            np.testing.assert_allclose(on, gelu64(summed), rtol=1e-5, atol=3e-7)
    finally:
        ext().bf16_set_amx(amx_before)
        ext().bf16_set_impl(before)


# ---- constant B in the weight pages (bf16_matmul.pack_b(weights=True)) --------------------------


def test_constant_weights_are_packed_into_the_weight_pages(monkeypatch) -> None:
    """A constant B of >= weight_pages.MIN_BYTES packed bf16 is cut from a weight chunk (2 MiB
    pages where the system advises them), the same panels as the per-call packing; a per-call B
    (weights=False) and the switched-off path keep aligned buffers of their own."""
    from gossamer.cython_kernels import bf16_matmul, weight_pages

    rng = np.random.default_rng(12)
    b = values(rng, (384, 1536), 1)  # MiniLM's FFN-up: 1.2 MB packed
    placed, plain = bf16_matmul.pack_b(b, weights=True), bf16_matmul.pack_b(b)
    np.testing.assert_array_equal(placed, plain)
    assert placed.ctypes.data % 64 == 0 and plain.ctypes.data % 64 == 0

    def root(a: np.ndarray) -> np.ndarray:
        while isinstance(a.base, np.ndarray):
            a = a.base
        return a

    if weight_pages._madvise is not None:
        assert root(placed).nbytes >= weight_pages._CHUNK  # a view of a weight chunk
    assert root(plain).nbytes < weight_pages._CHUNK
    monkeypatch.setattr(weight_pages, "ENABLED", False)
    off = bf16_matmul.pack_b(b, weights=True)
    np.testing.assert_array_equal(off, plain)
    assert root(off).nbytes < weight_pages._CHUNK
