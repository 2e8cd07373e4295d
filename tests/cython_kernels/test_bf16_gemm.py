"""The BF16 GEMM (src/bf16.h) against its numpy definition (conformance/bf16_reference.py), bit for
bit: the emulation at every SIMD level this CPU has, and the real vdpbf16ps against the emulation
where the CPU has AVX512_BF16 (never on a machine without it: that test is skipped there)."""

from __future__ import annotations

from collections.abc import Iterator

import ml_dtypes
import numpy as np
import pytest
from gossamer.conformance.bf16_reference import bf16_matmul, fma_ftz, to_bf16
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


def test_vdpbf16ps_matches_the_emulation_bit_for_bit() -> None:
    if not ext().bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16: the instruction cannot run here")
    rng = np.random.default_rng(5)
    before = ext().bf16_impl()
    try:
        for m, k, n in [(1, 1, 1), (13, 17, 33), (12, 64, 32), (75, 301, 131), (7, 0, 5)]:
            a, b = values(rng, (m, k), 20), values(rng, (k, n), 20)
            ext().bf16_set_impl("native")
            native = gemm(a, b, 2)
            ext().bf16_set_impl("emulated")
            np.testing.assert_array_equal(bits(native), bits(gemm(a, b, 2)))
            np.testing.assert_array_equal(bits(native), bits(bf16_matmul(a, b)))
    finally:
        ext().bf16_set_impl(before)
