"""com.microsoft QGemm, MatMulIntegerToFloat and DynamicQuantizeMatMul: exact int32 products
scaled in float32; onnxruntime agrees bit for bit, integer and float outputs alike, wherever its
x86 uint8 x int8 kernel does not saturate a pair of products at int16 (shown below)."""

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ops.op_dynamic_quantize_mat_mul import dynamic_quantize_mat_mul_1
from gossamer.refimpl.ops.op_mat_mul_integer_to_float import mat_mul_integer_to_float_1
from gossamer.refimpl.ops.op_qgemm import qgemm_1
from hypothesis import given, settings
from hypothesis import strategies as st

from ._ort_oracle import ints, run_both, weights

f32, u8, i8 = np.float32, np.uint8, np.int8
S = np.asarray


def test_qgemm_adds_int32_c_and_requantises():
    a, b = S([[3, 5]], u8), S([[2], [1]], i8)  # (3-1)*2 + (5-1)*1 = 8, + C 4 = 12
    y = qgemm_1(a, S(0.5, f32), S(1, u8), b, S(0.25, f32), S(0, i8), S([4], np.int32),
                S(0.125, f32), S(10, u8))  # fmt: skip
    assert y.tolist() == [[22]]  # 12 * 0.5 * 0.25 / 0.125 + 10


def test_qgemm_without_output_parameters_returns_float32():
    a, b = S([[3, 5]], u8), S([[2, 1], [1, 1]], i8)
    y = qgemm_1(a, S(0.5, f32), S(1, u8), b, S([0.25, 1.0], f32), S([0, 1], i8), alpha=2.0)
    # acc = [2, 4] @ [[2, 0], [1, 0]] = [8, 0]; multiplier 2 * 0.5 * [0.25, 1.0]
    assert y.dtype == f32 and y.tolist() == [[2.0, 0.0]]


def test_qgemm_transposes_and_checks_inner_sizes():
    a, args = S([[1, 2]], u8), (S(1.0, f32), S(0, u8))
    y = qgemm_1(a, *args, S([[3], [4]], u8), *args, transA=1, transB=1)
    assert y.tolist() == [[3.0, 4.0], [6.0, 8.0]]  # op(A) (2, 1) @ op(B) (1, 2)
    with pytest.raises(OpArgumentError, match="inner"):
        qgemm_1(a, *args, S([[3], [4]], u8), *args, transA=1)


def test_matmul_integer_to_float_scales_per_column_and_adds_bias():
    a, b = S([[2, 4]], u8), S([[1, -1], [1, 1]], i8)  # (a - 1) @ b = [4, 2]
    y = mat_mul_integer_to_float_1(a, b, S(0.5, f32), S([1.0, 2.0], f32), S(1, u8), None,
                                   S([0.25, 0.0], f32))  # fmt: skip
    assert y.tolist() == [[2.25, 2.0]]


def test_dynamic_quantize_matmul_quantises_a_like_dynamic_quantize_linear():
    a = S([[0.0, 2.55]], f32)  # scale 0.01, zero point 0: a quantises to [0, 255] exactly
    y = dynamic_quantize_mat_mul_1(a, S([[1], [1]], u8), S(1.0, f32))
    np.testing.assert_allclose(y, [[2.55]], rtol=1e-6)


def test_per_column_parameters_must_match_b():
    with pytest.raises(OpArgumentError, match="b_scale"):
        mat_mul_integer_to_float_1(S([[1]], u8), S([[1, 2]], u8), S(1.0, f32), S([1.0] * 3, f32))


# ---- against onnxruntime -----------------------------------------------------------------------
_SCALES = st.sampled_from([0.5, 0.1, 0.02, 0.0371, 0.003]) | st.floats(0.001, 1.0)


@st.composite
def _gemm_case(draw):
    a_type = draw(st.sampled_from([u8, i8]))
    b_type = i8 if a_type == i8 else draw(st.sampled_from([u8, i8]))
    m, k, n = (draw(st.sampled_from([1, 2, 5, 9, 17, 33])) for _ in range(3))
    ta, tb = draw(st.booleans()), draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = ints(rng, a_type, (k, m) if ta else (m, k))
    b = weights(rng, b_type, (n, k) if tb else (k, n))
    per_col = draw(st.booleans())
    b_zp = ints(rng, b_type, (n,) if per_col else ()) if b_type == u8 else np.zeros(
        (n,) if per_col else (), i8)  # fmt: skip
    b_scale = rng.uniform(0.001, 0.05, size=n if per_col else ()).astype(f32)
    c = draw(st.sampled_from([None, (n,), (m, n)]))
    inputs = [
        a,
        S(draw(_SCALES), f32),
        ints(rng, a_type, ()),
        b,
        b_scale,
        b_zp,
        None if c is None else rng.integers(-(2**16), 2**16, size=c).astype(np.int32),
    ]
    if draw(st.booleans()):  # quantised output
        inputs += [S(draw(_SCALES), f32), ints(rng, a_type, ())]
    attrs = {"transA": int(ta), "transB": int(tb), "alpha": draw(st.sampled_from([1.0, 0.5]))}
    return inputs, attrs


@settings(max_examples=50)
@given(case=_gemm_case())
def test_qgemm_matches_onnxruntime_bit_for_bit(case):
    inputs, attrs = case
    ours, theirs = run_both("QGemm", inputs, attrs, const=(3, 4, 5))
    np.testing.assert_array_equal(ours[0], theirs[0])


@st.composite
def _matmul_case(draw, float_a):
    b_type = draw(st.sampled_from([u8, i8]))
    m, k, n = (draw(st.sampled_from([1, 2, 5, 9, 17])) for _ in range(3))
    batch = draw(st.sampled_from([(), (2,), (2, 1)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if float_a:
        a = (rng.normal(size=(*batch, m, k)) * draw(st.sampled_from([0.1, 3.0, 100.0]))).astype(f32)
    else:
        a = ints(rng, u8, (*batch, m, k))
    per_col = draw(st.booleans())
    b_scale = rng.uniform(0.001, 0.05, size=n if per_col else ()).astype(f32)
    b_zp = ints(rng, b_type, (n,) if per_col else ())
    bias = rng.normal(size=n).astype(f32) if draw(st.booleans()) else None
    b = weights(rng, b_type, (k, n))
    if float_a:
        return [a, b, b_scale, b_zp, bias]
    return [a, b, S(draw(_SCALES), f32), b_scale, ints(rng, u8, ()), b_zp, bias]


@settings(max_examples=40)
@given(inputs=_matmul_case(float_a=False))
def test_matmul_integer_to_float_matches_onnxruntime_bit_for_bit(inputs):
    ours, theirs = run_both("MatMulIntegerToFloat", inputs, const=(1, 3, 5))
    np.testing.assert_array_equal(ours[0], theirs[0])


@settings(max_examples=40)
@given(inputs=_matmul_case(float_a=True))
def test_dynamic_quantize_matmul_matches_onnxruntime_bit_for_bit(inputs):
    ours, theirs = run_both("DynamicQuantizeMatMul", inputs, const=(1, 2, 3))
    np.testing.assert_array_equal(ours[0], theirs[0])


def test_onnxruntime_saturates_uint8_times_int8_pairs_where_the_reference_is_exact():
    """Why the comparisons above keep int8 weights within +-63: on x86 without VNNI
    onnxruntime's u8s8 GEMM (vpmaddubsw) saturates a0*b0 + a1*b1 at int16."""
    a, b = np.full((1, 2), 255, u8), np.full((2, 1), 127, i8)  # 2 * 255 * 127 = 64770
    ours, theirs = run_both("QGemm", [a, S(1.0, f32), S(0, u8), b, S(1.0, f32), S(0, i8)],
                            const=(3, 4, 5))  # fmt: skip
    assert ours[0].item() == 64770.0
    assert theirs[0].item() in (64770.0, 32767.0)  # 32767 where vpmaddubsw saturates
