"""The packed GEMM on every SIMD path (AVX-512F, AVX2/FMA, generic), 1 and 2 threads: shapes,
cache-block edges, thread partitions, the fused epilogue (every activation, PRelu slopes, the
residual), batched constant weights."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import assert_close, assert_on_cython, one_node, run_both

native = pytest.importorskip("gossamer.cython_kernels._native")
GEMM_TOL = {"rtol": 1e-4, "atol": 1e-4}
ACTIVATIONS = [("Relu", None), ("Clip", [-0.5, 0.7]), ("Sigmoid", None), ("Swish", [1.5]),
               ("HardSigmoid", [0.3, 0.4]), ("HardSwish", None), ("LeakyRelu", [0.2]),
               ("Gelu", None)]  # fmt: skip


@pytest.fixture(scope="module")
def small_blocks() -> Iterator[None]:
    """Tiny K and M blocks, so small shapes cross every cache-block edge."""
    old = native.ext().gemm_tune(7, 24)
    yield
    native.ext().gemm_tune(*old)


def _gemm(a: np.ndarray, b: np.ndarray, threads: int, **epilogue: object) -> np.ndarray:
    from gossamer.cython_kernels import gemm_kernels as gk

    act = epilogue.pop("activation", gk.Activation())
    y = np.empty((a.shape[0], b.shape[1]), np.float32)
    ep = gk.make_epilogue(act, **epilogue)  # type: ignore[arg-type]
    native.ext().gemm_a(a, gk.pack_weights(b), b.shape[1], y, ep, threads)
    return y


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 60), n=st.integers(1, 80), k=st.integers(1, 40), trans=st.booleans())
def test_gemm_matches_numpy_across_block_edges(m, n, k, trans, level, nthreads, small_blocks):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((k, m) if trans else (m, k), dtype=np.float32)
    a = a.T if trans else a  # strided left operand
    b = rng.standard_normal((k, n), dtype=np.float32)
    np.testing.assert_allclose(_gemm(a, b, nthreads), a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m, n, k", [(49, 2048, 64), (196, 1000, 40), (128, 1536, 24),
                                     (512, 49, 30), (13, 33, 300), (1, 700, 5),
                                     (128, 200, 384)])  # fmt: skip
def test_gemm_splits_typical_shapes_across_threads_exactly(m, n, k, level, nthreads):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    np.testing.assert_allclose(_gemm(a, b, nthreads), a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m, n, k", [(256, 1100, 64), (37, 1030, 17), (64, 1024, 64)])
def test_thin_products_have_the_same_bits_at_every_thin_m_block(m, n, k, level, nthreads):
    """K <= 64 with N >= 1024 sweeps N per few A panels (gemm_tune_thin): the order of the tiles
    changes, not any element's sum, and the residual and clip still land on the right elements."""
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(k)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    z = rng.standard_normal((m, n), dtype=np.float32)
    bias = rng.standard_normal(m, dtype=np.float32)
    act = gk.fused_activation("Relu", None)
    outs = []
    for mc in (144, 12, 24):
        old = native.ext().gemm_tune_thin(mc)
        try:
            outs.append(_gemm(a, b, nthreads, activation=act, bias_row=bias, residual=z))
        finally:
            native.ext().gemm_tune_thin(old)
    np.testing.assert_array_equal(outs[1], outs[0])
    np.testing.assert_array_equal(outs[2], outs[0])
    np.testing.assert_allclose(outs[0], np.maximum(a @ b + bias[:, None] + z, 0), **GEMM_TOL)


def _erf_gelu(x: np.ndarray) -> np.ndarray:
    return np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.astype(float)])


def test_gelu_epilogue_is_accurate_to_float32(level):
    """erf to ~1 ulp; Gelu within 1e-6 relative for x >= -2, 5e-8 absolute everywhere (the
    negative tail uses erfc = exp(q), without cancellation)."""
    from gossamer.cython_kernels import gemm_kernels as gk

    x = np.concatenate([np.linspace(-9, 9, 4001), [0.0, -0.0, 1e-30, -1e-30, 1e-8, 3e-3]])
    x = x.astype(np.float32)
    y = x[None, :].copy()
    native.ext().epilogue_apply(y, gk.make_epilogue(gk.fused_activation("Gelu", None)), 1)
    ref = _erf_gelu(x)
    err = np.abs(y[0] - ref)
    near = x >= -2
    assert (err[near] / np.maximum(np.abs(ref[near]), 1e-30)).max() < 1e-6
    assert err.max() < 5e-8 * max(1.0, float(np.abs(x).max()))


def test_epilogue_keeps_nan_and_infinities(level):
    from gossamer.cython_kernels import gemm_kernels as gk

    x = np.array([[np.nan, np.inf, -np.inf, 0.0]], np.float32)
    for name in ("Gelu", "Sigmoid", "Tanh", "Relu"):
        y = x.copy()
        native.ext().epilogue_apply(y, gk.make_epilogue(gk.fused_activation(name, None)), 1)
        assert np.isnan(y[0, 0]), name
    y = x.copy()
    native.ext().epilogue_apply(y, gk.make_epilogue(gk.fused_activation("Gelu", None)), 1)
    assert y[0, 1] == np.inf and np.isnan(y[0, 2])  # -inf * 0, as the reference


def test_tanh_epilogue_matches_numpy(level):
    from gossamer.cython_kernels import gemm_kernels as gk

    x = np.linspace(-12, 12, 3001, dtype=np.float32)[None, :]
    y = x.copy()
    native.ext().epilogue_apply(y, gk.make_epilogue(gk.fused_activation("Tanh", None)), 1)
    np.testing.assert_allclose(y, np.tanh(x.astype(np.float64)), rtol=2e-6, atol=1e-7)


def test_residual_and_biases_are_added_before_the_activation(level, nthreads):
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(5)
    a = rng.standard_normal((37, 50), dtype=np.float32)
    b = rng.standard_normal((50, 45), dtype=np.float32)
    r = rng.standard_normal((37, 45), dtype=np.float32)
    br, bc = rng.standard_normal(37, dtype=np.float32), rng.standard_normal(45, dtype=np.float32)
    y = _gemm(a, b, nthreads, activation=gk.fused_activation("Relu", None), bias_row=br,
              bias_col=bc, residual=r)  # fmt: skip
    np.testing.assert_allclose(y, np.maximum(a @ b + br[:, None] + bc + r, 0), **GEMM_TOL)


@pytest.mark.parametrize("axis", ["row", "col", "scalar"])
def test_prelu_epilogue_takes_its_slope_per_row_column_or_scalar(axis, level, nthreads):
    from gossamer.cython_kernels import gemm_kernels as gk

    rng = np.random.default_rng(6)
    a = rng.standard_normal((20, 30), dtype=np.float32)
    b = rng.standard_normal((30, 40), dtype=np.float32)
    slope = {"row": rng.random((20, 1)), "col": rng.random(40), "scalar": np.array([0.25])}[axis]
    slope = slope.astype(np.float32)
    y = _gemm(a, b, nthreads, activation=gk.fused_activation("PRelu", None), slope=slope,
              slope_axis="row" if axis == "row" else "col")  # fmt: skip
    z = a @ b
    np.testing.assert_allclose(y, np.where(z < 0, z * slope, z), **GEMM_TOL)


@pytest.mark.parametrize("activation, params", ACTIVATIONS)
@pytest.mark.parametrize("constant_b", [True, False])
def test_fused_matmul_runs_every_activation_in_the_epilogue(
    activation, params, constant_b, level, nthreads
):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 9, 33), dtype=np.float32) * 2
    b = rng.standard_normal((33, 21), dtype=np.float32)
    bias = rng.standard_normal(21, dtype=np.float32)
    attrs = {"activation": activation} | ({"activation_params": params} if params else {})
    if constant_b:
        model = one_node("FusedMatMul", {"a": a}, {"b": b, "bias": bias}, domain="gossamer",
                         **attrs)  # fmt: skip
        feeds = {"a": a}
    else:
        model = one_node("FusedMatMul", {"a": a, "b": b}, {"bias": bias}, domain="gossamer",
                         **attrs)  # fmt: skip
        feeds = {"a": a, "b": b}
    ours, ref, placement = run_both(model, feeds, nthreads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


@pytest.mark.parametrize("slope_shape", [(1,), (21,), (1, 21)])
def test_fused_matmul_with_prelu_is_claimed_and_exact(slope_shape, level):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((9, 33), dtype=np.float32)
    consts = {"b": rng.standard_normal((33, 21), dtype=np.float32),
              "bias": rng.standard_normal(21, dtype=np.float32),
              "slope": rng.random(slope_shape, dtype=np.float32)}  # fmt: skip
    model = one_node("FusedMatMul", {"a": a}, consts, domain="gossamer", activation="PRelu")
    ours, ref, placement = run_both(model, {"a": a}, 1)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


@pytest.mark.parametrize("slope_shape", [(1,), (12,), (7, 1)])
@pytest.mark.parametrize("activation", ["PRelu", "Gelu", "HardSwish"])
def test_fused_gemm_runs_the_activation_in_the_epilogue(slope_shape, activation, level):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((7, 15), dtype=np.float32)
    consts = {"b": rng.standard_normal((15, 12), dtype=np.float32),
              "c": rng.standard_normal(12, dtype=np.float32)}  # fmt: skip
    if activation == "PRelu":
        consts["slope"] = rng.random(slope_shape, dtype=np.float32)
    elif slope_shape != (1,):
        pytest.skip("slope only for PRelu")
    model = one_node("FusedGemm", {"a": a}, consts, domain="gossamer", activation=activation,
                     alpha=0.5, beta=2.0)  # fmt: skip
    ours, ref, placement = run_both(model, {"a": a}, 2)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


def test_fused_matmul_with_an_unknown_slope_layout_is_declined_with_a_reason():
    a = np.ones((2, 3, 4), np.float32)
    consts = {"b": np.ones((4, 5), np.float32), "bias": np.ones(5, np.float32),
              "slope": np.ones((3, 1), np.float32)}  # fmt: skip
    model = one_node("FusedMatMul", {"a": a}, consts, domain="gossamer", activation="PRelu")
    _, _, placement = run_both(model, {"a": a}, 1)
    (reasons,) = placement.declined.values()
    assert "slope" in reasons["cython"]


@pytest.mark.parametrize("a_batch", [(), (3,), (1, 3)])
def test_matmul_with_constant_3d_weights_packs_each_batch_once(a_batch, level, nthreads,
                                                               monkeypatch):  # fmt: skip
    from gossamer.cython_kernels import gemm_kernels as gk

    calls = []
    pack = gk.pack_weights
    monkeypatch.setattr(gk, "pack_weights", lambda b: calls.append(b.shape) or pack(b))
    rng = np.random.default_rng(10)
    a = rng.standard_normal((*a_batch, 19, 40), dtype=np.float32)
    b = rng.standard_normal((3, 40, 37), dtype=np.float32)
    bias = rng.standard_normal(37, dtype=np.float32)
    model = one_node("FusedMatMul", {"a": a}, {"b": b, "bias": bias}, domain="gossamer",
                     activation="Gelu")  # fmt: skip
    ours, ref, placement = run_both(model, {"a": a}, nthreads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)
    assert calls == [(40, 37)] * 3  # at prepare, once per batch


@pytest.mark.parametrize("env, expected", [("avx2", "avx2+fma"), ("generic", "generic")])
def test_gossamer_simd_env_var_forces_the_lower_paths(env, expected):
    if expected == "avx2+fma" and not native.ext().cpu_has_avx2_fma():
        pytest.skip("this CPU has no AVX2/FMA")
    code = "from gossamer.cython_kernels import simd_level; print(simd_level())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "GOSSAMER_SIMD": env},
                         capture_output=True, text=True)  # fmt: skip
    assert out.stdout.strip() == expected, out.stderr


def test_auto_selects_avx512f_where_the_cpu_has_it():
    from gossamer.cython_kernels import set_simd_level, simd_level

    before = simd_level()
    try:
        expected = "avx512f" if native.ext().cpu_has_avx512f() else None
        if expected is None:
            pytest.skip("this CPU has no AVX-512F")
        assert set_simd_level("auto") == expected
    finally:
        set_simd_level(before)


def _residual_model(fused: bool, constant_b: bool = True) -> tuple[bytes, dict[str, np.ndarray]]:
    """y = a @ w + bias + z: FusedMatMul(a, w, bias, "", z), or FusedMatMul(a, w, bias) + z."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(12)
    feeds = {"a": rng.standard_normal((2, 37, 40), dtype=np.float32),
             "z": rng.standard_normal((2, 37, 50), dtype=np.float32)}  # fmt: skip
    consts = {"w": rng.standard_normal((40, 50), dtype=np.float32),
              "bias": rng.standard_normal(50, dtype=np.float32)}  # fmt: skip
    if not constant_b:
        feeds["w"] = consts.pop("w")
    if fused:
        nodes = [helper.make_node("FusedMatMul", ["a", "w", "bias", "", "z"], ["y"],
                                  domain="gossamer")]  # fmt: skip
    else:
        nodes = [helper.make_node("FusedMatMul", ["a", "w", "bias"], ["t"], domain="gossamer"),
                 helper.make_node("Add", ["t", "z"], ["y"])]  # fmt: skip
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in feeds.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in consts.items()],
    )  # fmt: skip
    imports = [helper.make_opsetid("", 17), helper.make_opsetid("gossamer", 1)]
    return helper.make_model(graph, opset_imports=imports).SerializeToString(), feeds


def test_fused_matmul_residual_has_the_bits_of_the_unfused_add(level, nthreads):
    import gossamer

    fused, feeds = _residual_model(True)
    unfused, _ = _residual_model(False)
    ours = gossamer.load(fused, backends=["cython"], threads=nthreads, optimize=0)
    theirs = gossamer.load(unfused, backends=["cython"], threads=nthreads, optimize=0)
    assert_on_cython(ours.placement)
    (y,), (want,) = ours.run(None, feeds), theirs.run(None, feeds)
    assert np.array_equal(y.view(np.int32), want.view(np.int32))
    (ref,) = gossamer.load(fused, backends=[], optimize=0).run(None, feeds)
    assert_close([y], [ref], **GEMM_TOL)


def test_fused_matmul_residual_with_a_run_time_b_falls_back_to_the_reference():
    import gossamer

    model, feeds = _residual_model(True, constant_b=False)
    sess = gossamer.load(model, backends=["cython"], threads=1, optimize=0)
    (y,) = sess.run(None, feeds)
    (ref,) = gossamer.load(model, backends=[], optimize=0).run(None, feeds)
    assert np.array_equal(y, ref) and sess.runtime_fallbacks
