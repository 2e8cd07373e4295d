"""MatMulIntegerToFloat and DynamicQuantizeMatMul (com.microsoft) on the int8 GEMM with a float32
epilogue (float32(acc) * float32(a_scale * b_scale), then + bias, never an FMA), and the fused
quantise-and-pack of DynamicQuantizeMatMul's activations: bit-identical to the reference at every
SIMD level this CPU has, 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from hypothesis import given, settings
from hypothesis import strategies as st

import gossamer

from ._qhelpers import q_model, run_exact

F32 = np.float32
MS = "com.microsoft"


def _weights(rng: np.random.Generator, k: int, n: int, dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, (k, n)).astype(dtype)


def _params(rng, n, per_col, dtype, bias):  # type: ignore[no-untyped-def]
    cols = (n,) if per_col else ()
    info = np.iinfo(dtype)
    return {
        "b_scale": (rng.random(cols) * 0.01 + 1e-4).astype(F32),
        "b_zero_point": rng.integers(info.min, info.max + 1, cols).astype(dtype),
        "bias": rng.standard_normal(n).astype(F32) if bias else None,
    }


@settings(max_examples=25, deadline=None)
@given(
    lead=st.sampled_from([(5,), (1, 7), (2, 13)]), k=st.integers(1, 70), n=st.integers(1, 40),
    tb=st.sampled_from(["uint8", "int8"]), per_col=st.booleans(), bias=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_matmul_integer_to_float(level, nthreads, lead, k, n, tb, per_col, bias, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (*lead, k)).astype(np.uint8)
    p = _params(rng, n, per_col, tb, bias)
    consts = {
        "b": _weights(rng, k, n, tb), "a_scale": F32(rng.random() * 0.05 + 1e-3),
        "b_scale": p["b_scale"], "a_zero_point": np.uint8(rng.integers(0, 256)),
        "b_zero_point": p["b_zero_point"], "bias": p["bias"],
    }  # fmt: skip
    model = q_model("MatMulIntegerToFloat", {"a": a}, consts, domain=MS)
    run_exact(model, {"a": a}, nthreads)


@settings(max_examples=25, deadline=None)
@given(
    lead=st.sampled_from([(5,), (1, 7), (2, 13), (1, 128)]), k=st.integers(1, 1100),
    n=st.integers(1, 40), tb=st.sampled_from(["uint8", "int8"]), per_col=st.booleans(),
    bias=st.booleans(), spread=st.sampled_from([1e-3, 1.0, 1e4]), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_dynamic_quantize_mat_mul(level, nthreads, lead, k, n, tb, per_col, bias, spread, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((*lead, k)) * spread + rng.standard_normal() * spread).astype(F32)
    consts = {"b": _weights(rng, k, n, tb)} | _params(rng, n, per_col, tb, bias)
    run_exact(q_model("DynamicQuantizeMatMul", {"a": x}, consts, domain=MS), {"a": x}, nthreads)


@pytest.mark.parametrize("fill", [0.0, 3.0, -2.0])
def test_dynamic_quantize_mat_mul_on_constant_rows(level, fill):
    """All-equal activations (scale 1 by the spec's special case), one sign or zero."""
    rng = np.random.default_rng(7)
    x = np.full((3, 33), fill, F32)
    consts = {"b": _weights(rng, 33, 9, "int8")} | _params(rng, 9, True, "int8", True)
    run_exact(q_model("DynamicQuantizeMatMul", {"a": x}, consts, domain=MS), {"a": x}, 2)


def test_quantise_and_pack_equals_quantise_then_pack(level):
    rng = np.random.default_rng(3)
    m, k = 13, 2100  # more than one 1024-column chunk, an odd K
    x = (rng.standard_normal((m, k)) * 3).astype(F32)
    scale, zp = F32(0.023), 117
    q = np.clip(np.rint(x / scale) + zp, 0, 255).astype(np.uint8)
    want = np.empty(ext().qpacked_a_size(m, k), np.int16)
    ext().qpack_a(q, 0, np.array([zp], np.int32), want, 1)
    got = np.empty_like(want)
    ext().qpack_a_quantize(x, float(scale), zp, got, 2)
    np.testing.assert_array_equal(got, want)


def test_float_bias_is_checked():
    ep = ext().QEpilogue(3, np.ones(1, F32))
    ep.float_bias(np.ones(2, F32))
    with pytest.raises(ValueError, match="float bias"):
        ext().qgemm(1, 3, 2, np.zeros(1000, np.int16), np.zeros(1000, np.int16),
                    np.empty((1, 3), F32), ep)  # fmt: skip
    with pytest.raises(ValueError, match="float32"):
        ext().QEpilogue(0, np.ones(1, F32)).float_bias(np.ones(2, F32))
    with pytest.raises(ValueError, match="zero point"):
        ext().qpack_a_quantize(np.zeros((2, 2), F32), 1.0, 300, np.zeros(100, np.int16), 1)


@pytest.mark.parametrize("per_col, bias", [(False, True), (True, False), (True, True)])
def test_constant_b_scale_and_bias_with_a_new_a_scale_each_run(nthreads, per_col, bias):
    """b_scale and bias constants (their layout kept by the node), a_scale a graph input and
    DynamicQuantizeMatMul's data-dependent scale: every run's multiplier is its own."""
    rng = np.random.default_rng(11)
    k, n = 37, 21
    p = _params(rng, n, per_col, "int8", bias)
    order = ["a", "b", "a_scale", "b_scale", "a_zero_point", "b_zero_point"] + ["bias"] * bias
    consts = {
        "b": _weights(rng, k, n, "int8"),
        "b_scale": p["b_scale"],
        "a_zero_point": np.uint8(3),
        "b_zero_point": p["b_zero_point"],
        "bias": p["bias"],
    }
    a = rng.integers(0, 256, (2, 5, k)).astype(np.uint8)
    model = q_model("MatMulIntegerToFloat", {"a": a, "a_scale": F32(0.5)}, consts, domain=MS,
                    order=order)  # fmt: skip
    dq = q_model("DynamicQuantizeMatMul", {"a": np.zeros((2, 5, k), F32)},
                 {"b": consts["b"]} | p, domain=MS)  # fmt: skip
    sessions = [(gossamer.load(m, backends=["cython"], threads=nthreads, optimize=0),
                 gossamer.load(m, backends=[], optimize=0)) for m in (model, dq)]  # fmt: skip
    for run in range(4):
        a = rng.integers(0, 256, (2, 5, k)).astype(np.uint8)
        x = (rng.standard_normal((2, 5, k)) * 10.0 ** (run - 1)).astype(F32)
        scale = np.asarray(rng.random() * 0.1 + 1e-3, F32)
        for (ours, ref), feeds in zip(sessions, [{"a": a, "a_scale": scale}, {"a": x}]):
            (got,), (want,) = ours.run(None, feeds), ref.run(None, feeds)
            assert not ours.runtime_fallbacks
            np.testing.assert_array_equal(got, want)
