"""Weights of int8 codes times a column scale (cython_kernels/int8_weights.py, src/gemm_i8w.h):
recognised from their float32 values only where exact, and multiplied from the codes with the
bits of the float32 weight's packed GEMM, at every SIMD level and thread count."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import gossamer

native = pytest.importorskip("gossamer.cython_kernels._native")

F32 = np.float32


def _codes(rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes with every column reaching +-127 (a symmetric quantiser's) and column scales."""
    q = rng.integers(-127, 128, (k, n)).astype(np.int8)
    q[rng.integers(0, k, n), np.arange(n)] = rng.choice(np.array([-127, 127], np.int8), n)
    return q, rng.uniform(1e-3, 0.05, n).astype(F32)


def _folded(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """float32(q) * scale as Cast + Mul compute it (one rounding)."""
    return q.astype(F32) * scale.reshape(1, -1)


@pytest.fixture(params=["default", "small_blocks"])
def blocks(request: pytest.FixtureRequest) -> Iterator[None]:
    """The default cache blocking, and K blocks of 7 (so K crosses block edges)."""
    if request.param == "default":
        yield
        return
    old = native.ext().gemm_tune(7, 24)
    yield
    native.ext().gemm_tune(*old)


def _epilogue(kind: str, rng: np.random.Generator, m: int, n: int) -> dict:
    from gossamer.cython_kernels import gemm_kernels as gk

    if kind == "plain":
        return {}
    if kind == "bias_gelu":  # MiniLM's FFN-up
        return {"activation": gk.fused_activation("Gelu", None),
                "bias_col": rng.standard_normal(n, dtype=F32)}  # fmt: skip
    if kind == "residual_clip":
        return {"activation": gk.fused_activation("Clip", [-0.5, 0.7]),
                "bias_col": rng.standard_normal(n, dtype=F32),
                "residual": rng.standard_normal((m, n), dtype=F32)}  # fmt: skip
    return {"activation": gk.fused_activation("PRelu", None),  # per-column slope, per-row bias
            "slope": rng.standard_normal(n, dtype=F32),
            "bias_row": rng.standard_normal(m, dtype=F32)}  # fmt: skip


@pytest.mark.parametrize("m", [1, 4, 12, 16, 25, 40])
@pytest.mark.parametrize("k, n", [(37, 45), (384, 70), (300, 33), (520, 17)])
@pytest.mark.parametrize("kind", ["plain", "bias_gelu", "residual_clip", "prelu_row_bias"])
def test_int8_weights_give_the_bits_of_their_float32_weight(level, nthreads, blocks, m, k, n, kind):
    from gossamer.cython_kernels import gemm_kernels as gk
    from gossamer.cython_kernels.int8_weights import pack

    rng = np.random.default_rng(m * 10000 + k * 10 + n)
    q, scale = _codes(rng, k, n)
    a = rng.standard_normal((k, m), dtype=F32).T  # a strided left operand
    epilogue = _epilogue(kind, rng, m, n)
    act = epilogue.pop("activation", gk.Activation())
    ep = gk.make_epilogue(act, **epilogue)
    got = np.full((m, n), np.nan, F32)
    native.ext().gemm_a_i8w(a, pack(q, scale), n, got, ep, nthreads)
    want = np.full((m, n), np.nan, F32)
    native.ext().gemm_a(a, gk.pack_weights(_folded(q, scale)), n, want, ep, 1)
    np.testing.assert_array_equal(got, want)


def test_int8_form_finds_codes_and_column_scales_that_rebuild_every_bit():
    from gossamer.refimpl.int8_codes import int8_form

    rng = np.random.default_rng(3)
    q, scale = _codes(rng, 300, 70)
    q[:, 5] = 0  # an all-zero column
    q[7, 9] = -128  # the full int8 range in a column that also reaches 127
    w = _folded(q, scale)
    q2, s2 = int8_form(w)
    assert q2.dtype == np.int8 and s2.dtype == F32 and q2.shape == w.shape
    np.testing.assert_array_equal(_folded(q2, s2).view(np.uint32), w.view(np.uint32))


def test_int8_form_finds_a_scale_per_tensor():
    from gossamer.refimpl.int8_codes import int8_form

    rng = np.random.default_rng(4)
    q = rng.integers(-60, 61, (64, 40)).astype(np.int8)  # columns well short of the peak
    q[3, 17] = 127
    w = _folded(q, np.full(40, 0.0123, F32))
    q2, s2 = int8_form(w)
    np.testing.assert_array_equal(_folded(q2, s2).view(np.uint32), w.view(np.uint32))


@pytest.mark.parametrize("k", [256, 257, 1536])
def test_a_deep_weight_is_refused_or_found_whatever_its_first_column_holds(k):
    """Past 256 rows a float weight is refused on its first column's distinct values: the codes
    of a per-tensor scale (at most 256 values a column) are still found there."""
    from gossamer.refimpl.int8_codes import int8_form

    rng = np.random.default_rng(k)
    assert int8_form(rng.standard_normal((k, 24), dtype=F32)) is None
    q = rng.integers(-128, 128, (k, 24)).astype(np.int8)
    q[0, 0] = 127
    w = _folded(q, np.full(24, 0.0071, F32))
    q2, s2 = int8_form(w)
    np.testing.assert_array_equal(_folded(q2, s2).view(np.uint32), w.view(np.uint32))


@pytest.mark.parametrize("case", ["float", "negative_zero", "nan", "off_by_one_ulp", "wide_codes"])
def test_weights_that_are_not_exactly_int8_codes_stay_float32(case):
    from gossamer.refimpl.int8_codes import int8_form

    rng = np.random.default_rng(5)
    q, scale = _codes(rng, 50, 20)
    q[0, 3] = 0
    w = _folded(q, scale)
    if case == "float":
        w = rng.standard_normal((50, 20), dtype=F32)
    elif case == "negative_zero":  # code 0 widens to +0.0, never -0.0
        w[0, 3] = F32(-0.0)
    elif case == "nan":
        w[4, 4] = np.nan
    elif case == "off_by_one_ulp":
        w[10, 11] = np.nextafter(w[10, 11], F32(np.inf))
    else:  # a code past int8: 129 times the scale
        w[0, 2] = F32(129) * scale[2]
    assert int8_form(w) is None


def _int8_weight_model(q: np.ndarray, scale: np.ndarray, bias: np.ndarray) -> bytes:
    """Gelu(x @ (Cast(q) * scale) + bias), the weight stored as a weight-only int8 model does."""
    nodes = [
        helper.make_node("Cast", ["q"], ["qf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["qf", "scale"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "bias"], ["z"]),
        helper.make_node("Gelu", ["z"], ["y"]),
    ]
    k, n = q.shape
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(q, "q"),
                     onnx.numpy_helper.from_array(scale.reshape(1, n), "scale"),
                     onnx.numpy_helper.from_array(bias, "bias")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    return model.SerializeToString()


def test_a_weight_only_int8_model_runs_from_its_codes_with_the_float32_bits(monkeypatch, nthreads):
    from gossamer.cython_kernels import int8_weights

    rng = np.random.default_rng(6)
    q, scale = _codes(rng, 96, 50)
    model = _int8_weight_model(q, scale, rng.standard_normal(50, dtype=F32))
    x = rng.standard_normal((16, 96), dtype=F32)
    calls = []
    real = int8_weights.pack
    monkeypatch.setattr(int8_weights, "pack", lambda *a: calls.append(a) or real(*a))
    ours = gossamer.load(model, backends=["cython"], threads=nthreads)
    assert set(ours.placement.backend_of.values()) == {"cython"}
    got = ours.run(None, {"x": x})[0]
    assert len(calls) == 1  # the product's weight was packed as codes
    monkeypatch.setenv(int8_weights.ENV, "0")
    floats = gossamer.load(model, backends=["cython"], threads=nthreads).run(None, {"x": x})[0]
    assert len(calls) == 1
    np.testing.assert_array_equal(got, floats)
    ref = gossamer.load(model, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_gemm_with_a_transposed_int8_weight_runs_from_its_codes_with_the_float32_bits(
    monkeypatch, nthreads
):
    """Gemm(x, W, C, transB=1) with W (N x K) int8 codes times a scale per row of W (a column of
    the product's B)."""
    from gossamer.cython_kernels import int8_weights

    from ._helpers import one_node

    rng = np.random.default_rng(7)
    q, scale = _codes(rng, 70, 33)  # B = W^T: K 70, N 33
    w = np.ascontiguousarray(_folded(q, scale).T)
    c = rng.standard_normal(33, dtype=F32)
    x = rng.standard_normal((5, 70), dtype=F32)
    model = one_node("Gemm", {"x": x}, {"w": w, "c": c}, transB=1)
    calls = []
    real = int8_weights.pack
    monkeypatch.setattr(int8_weights, "pack", lambda *a: calls.append(a) or real(*a))
    got = gossamer.load(model, backends=["cython"], threads=nthreads).run(None, {"x": x})[0]
    assert len(calls) == 1
    monkeypatch.setenv(int8_weights.ENV, "0")
    floats = gossamer.load(model, backends=["cython"], threads=nthreads).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, floats)
