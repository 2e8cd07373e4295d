"""Conv, FusedConv, MatMul, Gemm and FusedGemm on the cython backend agree with the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import assert_close, assert_on_cython, one_node, run_both

GEMM_TOL = {"rtol": 1e-4, "atol": 1e-4}


@st.composite
def conv_cases(draw: st.DrawFn) -> dict:
    group = draw(st.sampled_from([1, 1, 2, "depthwise"]))
    c = draw(st.integers(1, 6)) * (2 if group == 2 else 1)
    if group == "depthwise":
        group = c
    m = c if group == c and group > 1 else draw(st.integers(1, 20)) * (2 if group == 2 else 1)
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = draw(st.sampled_from([1, 1, 2]))
    h, w = draw(st.integers((kh - 1) * dil + 1, 19)), draw(st.integers((kw - 1) * dil + 1, 19))
    pads = [draw(st.integers(0, k - 1)) for k in (kh, kw)] * 2
    return {
        "x": (draw(st.integers(1, 2)), c, h, w),
        "w": (m, c // group, kh, kw),
        "group": group,
        "strides": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
        "pads": pads,
        "dilations": [dil, dil],
        "bias": draw(st.booleans()),
    }


@settings(max_examples=30, deadline=None)
@given(case=conv_cases())
def test_conv_matches_reference_over_shapes_strides_pads_groups(case: dict, simd, threads) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(case["x"], dtype=np.float32)
    consts = {"w": rng.standard_normal(case["w"], dtype=np.float32)}
    if case["bias"]:
        consts["b"] = rng.standard_normal(case["w"][0], dtype=np.float32)
    model = one_node("Conv", {"x": x}, consts, group=case["group"], strides=case["strides"],
                     pads=case["pads"], dilations=case["dilations"])  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


@pytest.mark.parametrize("activation, params", [("Relu", None), ("Clip", [0.0, 6.0]), ("", None)])
@pytest.mark.parametrize("depthwise", [False, True])
def test_fused_conv_applies_bias_and_activation_in_the_epilogue(
    activation, params, depthwise, simd, threads
) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 8, 10, 10), dtype=np.float32) * 4
    w = rng.standard_normal((8, 1 if depthwise else 8, 3, 3), dtype=np.float32)
    b = rng.standard_normal(8, dtype=np.float32)
    attrs = {"activation": activation} | ({"activation_params": params} if params else {})
    model = one_node("FusedConv", {"x": x}, {"w": w, "b": b}, domain="gossamer",
                     group=8 if depthwise else 1, pads=[1, 1, 1, 1], **attrs)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


def test_fused_conv_with_an_activation_outside_the_epilogue_runs_it_after_the_gemm() -> None:
    x = np.linspace(-3, 3, 32, dtype=np.float32).reshape(1, 2, 4, 4)
    model = one_node("FusedConv", {"x": x}, {"w": np.ones((2, 2, 1, 1), np.float32)},
                     domain="gossamer", activation="Sigmoid")  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple:
    m, k, n = draw(st.integers(1, 70)), draw(st.integers(1, 90)), draw(st.integers(1, 70))
    batch = draw(st.sampled_from([(), (3,), (2, 2)]))
    b_batch = draw(st.sampled_from([batch, ()]))
    return (*batch, m, k), (*b_batch, k, n)


@settings(max_examples=30, deadline=None)
@given(shapes=matmul_shapes(), constant_b=st.booleans())
def test_matmul_matches_reference(shapes, constant_b, simd, threads) -> None:
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(s, dtype=np.float32) for s in shapes)
    if constant_b:
        model, feeds = one_node("MatMul", {"a": a}, {"b": b}), {"a": a}
    else:
        model, feeds = one_node("MatMul", {"a": a, "b": b}), {"a": a, "b": b}
    ours, ref, placement = run_both(model, feeds, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


@pytest.mark.parametrize("trans_a, trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("c_shape", [(), (1,), (23,), (1, 23), (17, 1)])
def test_gemm_matches_reference_with_transposes_alpha_beta_and_bias(
    trans_a, trans_b, c_shape, simd, threads
) -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((31, 17) if trans_a else (17, 31), dtype=np.float32)
    b = rng.standard_normal((23, 31) if trans_b else (31, 23), dtype=np.float32)
    consts = {"b": b} | ({"c": rng.standard_normal(c_shape, dtype=np.float32)} if c_shape else {})
    model = one_node("Gemm", {"a": a}, consts, alpha=0.5, beta=2.0, transA=trans_a,
                     transB=trans_b)  # fmt: skip
    ours, ref, placement = run_both(model, {"a": a}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


def test_fused_gemm_with_relu_clamps_negative_results(simd) -> None:
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 40), dtype=np.float32)
    consts = {"b": rng.standard_normal((40, 9), dtype=np.float32), "c": np.ones(9, np.float32)}
    model = one_node("FusedGemm", {"a": a}, consts, domain="gossamer", activation="Relu")
    ours, ref, placement = run_both(model, {"a": a}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)
    assert ours[0].min() >= 0


def test_gemm_with_a_full_c_matrix_is_declined_with_a_reason() -> None:
    a = np.ones((3, 4), np.float32)
    model = one_node("Gemm", {"a": a}, {"b": np.ones((4, 5), np.float32),
                                        "c": np.ones((3, 5), np.float32)})  # fmt: skip
    _, ref, placement = run_both(model, {"a": a}, 1)
    (reasons,) = placement.declined.values()
    assert "per-row or per-column" in reasons["cython"]
