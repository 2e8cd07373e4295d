"""The exact int8 GEMM (src/qgemm.h) and the QLinearMatMul / MatMulInteger / QGemm kernels:
bit-identical to the reference at every SIMD level this CPU has, 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ops._quant import requantize
from hypothesis import given, settings
from hypothesis import strategies as st

from ._qhelpers import q_model, run_exact

F32 = np.float32
TYPES = {0: np.uint8, 1: np.int8}


def _operand(rng: np.random.Generator, shape: tuple[int, ...], code: int) -> np.ndarray:
    info = np.iinfo(TYPES[code])
    return rng.integers(info.min, info.max + 1, shape).astype(TYPES[code])


def _packed_product(a, za, b, zb, ep, out, threads):  # type: ignore[no-untyped-def]
    (m, k), n = a.shape, b.shape[1]
    ap = np.empty(ext().qpacked_a_size(m, k), np.int16)
    bp = np.empty(ext().qpacked_b_size(k, n), np.int16)
    ext().qpack_a(a.view(np.uint8), 0 if a.dtype == np.uint8 else 1, za, ap, threads)
    ext().qpack_b(b.view(np.uint8), 0 if b.dtype == np.uint8 else 1, zb, bp, threads)
    ext().qgemm(m, n, k, ap, bp, out, ep, 0, 0, threads)
    return out


def _exact_acc(a, za, b, zb):  # type: ignore[no-untyped-def]
    acc = (a.astype(np.int64) - za.reshape(-1, 1)) @ (b.astype(np.int64) - zb.reshape(1, -1))
    return acc.astype(np.int32)  # wraps like int32 accumulation


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 30), n=st.integers(1, 40), k=st.integers(1, 70),
    ta=st.sampled_from([0, 1]), tb=st.sampled_from([0, 1]), out=st.sampled_from([0, 1]),
    per_row=st.booleans(), per_col=st.booleans(), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_requantised_product_is_the_reference(level, nthreads, m, n, k, ta, tb, out, per_row,
                                              per_col, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, (m, k), ta), _operand(rng, (k, n), tb)
    za = _operand(rng, (m if per_row else 1,), ta).astype(np.int32)
    zb = _operand(rng, (n if per_col else 1,), tb).astype(np.int32)
    mult = (rng.random((m, 1) if per_row else (1, n) if per_col else (1, 1)) * 2e-4).astype(F32)
    bias = rng.integers(-(2**20), 2**20, (1, n)).astype(np.int32)
    zp = _operand(rng, (), out)
    ep = ext().QEpilogue(out, mult.reshape(-1), 1 if per_row else 0,
                         1 if per_col and not per_row else 0, bias.reshape(-1), 0, 1,
                         float(zp))  # fmt: skip
    got = _packed_product(a, za, b, zb, ep, np.empty((m, n), TYPES[out]), nthreads)
    want = requantize(_exact_acc(a, za, b, zb) + bias, mult, np.asarray(zp), np.dtype(TYPES[out]))
    np.testing.assert_array_equal(got, want)


def test_int32_accumulation_wraps_like_the_reference(level):
    k = 70000  # 255 * 255 * k passes 2**31
    a = np.full((2, k), 255, np.uint8)
    b = np.full((k, 3), -128, np.int8)
    zero = np.zeros(1, np.int32)
    got = _packed_product(a, zero, b, zero, ext().QEpilogue(2), np.empty((2, 3), np.int32), 2)
    np.testing.assert_array_equal(got, _exact_acc(a, zero, b, zero))
    assert got[0, 0] == (255 * -128 * k) % 2**32  # wrapped to a positive int32


@pytest.mark.parametrize("mult", [1e9, -1e9, np.inf, np.nan, 0.0])
def test_saturation_infinite_and_nan_multipliers(level, mult):
    rng = np.random.default_rng(3)
    a, b = _operand(rng, (7, 33), 0), _operand(rng, (33, 19), 1)
    zero = np.zeros(1, np.int32)
    mv = np.array([mult], F32)
    for out in (0, 1):
        ep = ext().QEpilogue(out, mv, 0, 0, None, 0, 0, 3.0)
        got = _packed_product(a, zero, b, zero, ep, np.empty((7, 19), TYPES[out]), 1)
        want = requantize(
            _exact_acc(a, zero, b, zero), mv, np.asarray(3, TYPES[out]), np.dtype(TYPES[out])
        )
        np.testing.assert_array_equal(got, want)


def test_half_way_values_round_to_even(level):
    # acc * 0.5 lands on .5 for odd acc: half to even, as np.rint
    a = np.arange(-64, 64, dtype=np.int8).reshape(-1, 1)
    b = np.ones((1, 1), np.int8)
    zero = np.zeros(1, np.int32)
    mv = np.array([0.5], F32)
    got = _packed_product(a, zero, b, zero, ext().QEpilogue(1, mv, 0, 0, None, 0, 0, 0.0),
                          np.empty((128, 1), np.int8), 1)  # fmt: skip
    np.testing.assert_array_equal(got.reshape(-1), np.rint(np.arange(-64, 64) * 0.5))


def test_vnni_kernel_matches_the_avx2_one():
    if not ext().cpu_has_vnni():
        pytest.skip("this CPU has no AVX512_VNNI (vpdpwssd): the VNNI tile cannot run here")
    from gossamer.cython_kernels import set_simd_level, simd_level

    before = simd_level()
    rng = np.random.default_rng(5)
    a, b = _operand(rng, (37, 301), 0), _operand(rng, (301, 45), 1)
    za, zb = np.array([7], np.int32), rng.integers(-128, 128, 45).astype(np.int32)
    try:
        set_simd_level("avx512f")
        got = _packed_product(a, za, b, zb, ext().QEpilogue(2), np.empty((37, 45), np.int32), 2)
    finally:
        set_simd_level(before)
    np.testing.assert_array_equal(got, _exact_acc(a, za, b, zb))


def test_wrapper_rejects_short_buffers():
    ep = ext().QEpilogue(2)
    with pytest.raises(ValueError, match="packed A"):
        ext().qgemm(7, 3, 5, np.empty(2, np.int16), np.empty(1000, np.int16),
                    np.empty((7, 3), np.int32), ep)  # fmt: skip
    with pytest.raises(ValueError, match="mult"):
        ep = ext().QEpilogue(0, np.ones(2, F32), 1, 0)
        ext().qgemm(7, 3, 5, np.empty(1000, np.int16), np.empty(1000, np.int16),
                    np.empty((7, 3), np.uint8), ep)  # fmt: skip


# ---- the ops ------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    lead=st.sampled_from([(5,), (1, 7), (2, 3)]), k=st.integers(1, 40), n=st.integers(1, 30),
    ta=st.sampled_from(["uint8", "int8"]), tb=st.sampled_from(["uint8", "int8"]),
    per_col=st.booleans(), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_qlinear_matmul(level, nthreads, lead, k, n, ta, tb, per_col, seed):
    rng = np.random.default_rng(seed)
    a = _operand(rng, (*lead, k), 0 if ta == "uint8" else 1)
    b = _operand(rng, (k, n), 0 if tb == "uint8" else 1)
    cols = (n,) if per_col else ()
    consts = {
        "a_scale": F32(rng.random() * 0.05 + 1e-3),
        "a_zero_point": _operand(rng, (), int(a.dtype == np.int8)),
        "b": b, "b_scale": (rng.random(cols) * 0.05 + 1e-3).astype(F32),
        "b_zero_point": _operand(rng, cols, tb == "int8"),
        "y_scale": F32(rng.random() * 0.5 + 0.01), "y_zero_point": _operand(rng, (), 1),
    }  # fmt: skip
    run_exact(q_model("QLinearMatMul", {"a": a}, consts), {"a": a}, nthreads)


@pytest.mark.parametrize("a_zp", ["scalar", "per_row", "absent"])
def test_matmul_integer(level, nthreads, a_zp):
    rng = np.random.default_rng(11)
    a, b = _operand(rng, (6, 29), 0), _operand(rng, (29, 17), 1)
    zp = {"scalar": np.uint8(9), "per_row": _operand(rng, (6,), 0), "absent": None}[a_zp]
    consts = {"b": b, "a_zero_point": zp, "b_zero_point": _operand(rng, (17,), 1)}
    if zp is None:
        consts = {"b": b}
    run_exact(q_model("MatMulInteger", {"a": a}, consts), {"a": a}, nthreads)


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("output", ["uint8", "float32"])
def test_qgemm(level, nthreads, trans_b, output):
    rng = np.random.default_rng(13)
    a, b = _operand(rng, (9, 40), 0), _operand(rng, (40, 21), 1)
    consts = {
        "a_scale": F32(0.03), "a_zero_point": np.uint8(128),
        "b": np.ascontiguousarray(b.T) if trans_b else b,
        "b_scale": (rng.random(21) * 0.01).astype(F32), "b_zero_point": np.zeros(21, np.int8),
        "c": rng.integers(-3000, 3000, 21).astype(np.int32),
        "y_scale": F32(0.07) if output == "uint8" else None,
        "y_zero_point": np.uint8(110) if output == "uint8" else None,
    }  # fmt: skip
    model = q_model("QGemm", {"a": a}, consts, domain="com.microsoft", transB=trans_b, alpha=0.75)
    run_exact(model, {"a": a}, nthreads)
