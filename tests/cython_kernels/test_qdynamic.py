"""The dynamic int8 path as one C call per node (src/qdynamic.h): DynamicQuantizeLinear,
DynamicQuantizeMatMul and MatMulIntegerToFloat compute (or read) the data-dependent scale and zero
point in C, bit-identical to the reference, on every GEMM core (int16 pairs, portable, VNNI,
AMX), every SIMD level this CPU has, 1 and 2 threads, including NaN / infinities / all-equal
inputs and odd tails; and a chain of them replays inside one segment."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from gossamer.cython_kernels import segments
from gossamer.cython_kernels._native import ext
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

import gossamer

from ._qhelpers import q_model, run_exact

F32 = np.float32
MS = "com.microsoft"
CORES = {-2: "int16", 0: "portable", 1: "vnni", 2: "amx"}


@pytest.fixture(scope="module", params=[-2, 0, 1, 2], ids=lambda c: CORES[c])
def core(request: pytest.FixtureRequest, level: str):  # type: ignore[no-untyped-def]
    """The GEMM the dynamic products run: the int16-pair GEMM (-2: the 8-bit core capped to 0
    makes q8_core() 0, which the kernels take as "no 8-bit GEMM"), or the 8-bit GEMM's portable
    (only reachable through gk_q8_gemm itself), VNNI or AMX core."""
    want = 0 if request.param == -2 else request.param
    got = ext().q8_set_core(want)
    try:
        if request.param == 0:
            pytest.skip("the portable 8-bit core is not chosen by the kernels (q8_core() 0)")
        if got != want:
            pytest.skip(f"no {CORES[request.param]} core at SIMD level {level} on this CPU")
        yield request.param
    finally:
        ext().q8_set_core(-1)


SPECIAL = {
    "nan": lambda x: np.where(np.arange(x.size).reshape(x.shape) % 7 == 3, np.nan, x),
    "inf": lambda x: np.where(np.arange(x.size).reshape(x.shape) == x.size - 1, np.inf, x),
    "-inf": lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, -np.inf, x),
    "positive": np.abs,
    "negative": lambda x: -np.abs(x) - 1,
    "zeros": np.zeros_like,
    "equal": lambda x: np.full_like(x, 2.5),
    "tiny": lambda x: x * F32(1e-42),
    "huge": lambda x: np.clip(x, -3, 3) * F32(1e38),
}


def _x(rng: np.random.Generator, shape: tuple[int, ...], kind: str | None) -> np.ndarray:
    x = (rng.standard_normal(shape) * 3 + rng.standard_normal()).astype(F32)
    return x if kind is None else np.asarray(SPECIAL[kind](x), F32)


@pytest.mark.parametrize("kind", [None, *SPECIAL])
@pytest.mark.parametrize("shape", [(1,), (15,), (3, 33), (1, 128, 384), (70001,)])
def test_dynamic_quantize_linear(level, nthreads, shape, kind):
    rng = np.random.default_rng(len(shape) * 31 + (kind or "").__len__())
    x = _x(rng, shape, kind)
    model = _dql_model(x.shape)
    ours = gossamer.load(model, backends=["cython"], threads=nthreads, optimize=0)
    ref = gossamer.load(model, backends=[], optimize=0)
    for got, want in zip(ours.run(None, {"x": x}), ref.run(None, {"x": x})):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()
    assert not ours.runtime_fallbacks


def _dql_model(shape: tuple[int, ...]) -> bytes:
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    outs = [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in "ysz"]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, shape)], outs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _weights(rng: np.random.Generator, k: int, n: int, dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, (k, n)).astype(dtype)


def _consts(rng, k, n, tb, per_col, bias, zb):  # type: ignore[no-untyped-def]
    cols = (n,) if per_col else ()
    info = np.iinfo(tb)
    zero = rng.integers(info.min, info.max + 1, cols) if zb else np.zeros(cols, int)
    return {
        "b": _weights(rng, k, n, tb), "b_scale": (rng.random(cols) * 0.01 + 1e-4).astype(F32),
        "b_zero_point": zero.astype(tb),
        "bias": rng.standard_normal(n).astype(F32) if bias else None,
    }  # fmt: skip


@settings(max_examples=12, deadline=None)
@given(
    lead=st.sampled_from([(1,), (5,), (1, 17), (2, 13), (1, 128)]), k=st.integers(1, 1100),
    n=st.integers(1, 70), tb=st.sampled_from(["uint8", "int8"]), per_col=st.booleans(),
    bias=st.booleans(), zb=st.booleans(), kind=st.sampled_from([None, None, *SPECIAL]),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_dynamic_quantize_mat_mul(core, nthreads, lead, k, n, tb, per_col, bias, zb, kind, seed):
    rng = np.random.default_rng(seed)
    x = _x(rng, (*lead, k), kind)
    consts = _consts(rng, k, n, tb, per_col, bias, zb)
    run_exact(q_model("DynamicQuantizeMatMul", {"a": x}, consts, domain=MS), {"a": x}, nthreads)


@settings(max_examples=12, deadline=None)
@given(
    lead=st.sampled_from([(1,), (5,), (1, 17), (2, 13)]), k=st.integers(1, 300),
    n=st.integers(1, 70), ta=st.sampled_from(["uint8", "int8"]), per_col=st.booleans(),
    bias=st.booleans(), zb=st.booleans(), za=st.booleans(), seed=st.integers(0, 2**31 - 1),
    a_scale=st.sampled_from([0.02, 1e-30, 3e38, float("inf"), float("nan")]),
)  # fmt: skip
def test_matmul_integer_to_float_reads_its_scale_at_run_time(  # type: ignore[no-untyped-def]
    core, nthreads, lead, k, n, ta, per_col, bias, zb, za, seed, a_scale
):
    """a_scale and a_zero_point as graph inputs (as DynamicQuantizeLinear hands them on)."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(ta)
    tb = "int8" if ta == "uint8" else "uint8"
    a = rng.integers(info.min, info.max + 1, (*lead, k)).astype(ta)
    c = _consts(rng, k, n, tb, per_col, bias, zb)
    feeds = {"a": a, "a_scale": np.array(a_scale, F32)}
    if za:
        feeds["a_zero_point"] = np.array(rng.integers(info.min, info.max + 1), ta)
    order = ["a", "b", "a_scale", "b_scale", "a_zero_point" if za else "", "b_zero_point",
             "bias" if c["bias"] is not None else ""]  # fmt: skip
    consts = {key: v for key, v in c.items() if v is not None}
    model = q_model("MatMulIntegerToFloat", feeds, consts, domain=MS, order=order)
    run_exact(model, feeds, nthreads)


def _chain(rng: np.random.Generator, m: int, k: int, n: int) -> bytes:
    """x -> DynamicQuantizeLinear -> MatMulIntegerToFloat (twice, one shared quantisation) ->
    Add -> DynamicQuantizeMatMul -> y, as quantize_dynamic's models (after fusion) run."""
    inits = {
        "w1": _weights(rng, k, n, "int8"), "s1": (rng.random(n) * 0.01 + 1e-3).astype(F32),
        "z1": np.zeros(n, np.int8), "w2": _weights(rng, k, n, "int8"), "s2": F32(0.003),
        "z2": np.int8(0), "bias2": rng.standard_normal(n).astype(F32),
        "w3": _weights(rng, n, 7, "int8"), "s3": F32(0.01), "z3": np.int8(0),
    }  # fmt: skip
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "qs", "qz"]),
        helper.make_node("MatMulIntegerToFloat", ["q", "w1", "qs", "s1", "qz", "z1"], ["p1"],
                         domain=MS),
        helper.make_node("MatMulIntegerToFloat", ["q", "w2", "qs", "s2", "qz", "z2", "bias2"],
                         ["p2"], domain=MS),
        helper.make_node("Add", ["p1", "p2"], ["h"]),
        helper.make_node("DynamicQuantizeMatMul", ["h", "w3", "s3", "z3"], ["y"], domain=MS),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", 1, [m, k])],
        [helper.make_tensor_value_info("y", 1, None)],
        [numpy_helper.from_array(np.asarray(v), name) for name, v in inits.items()],
    )  # fmt: skip
    imports = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


@pytest.mark.parametrize("m,k,n", [(128, 384, 64), (5, 70, 33)])
def test_a_dynamic_chain_is_one_segment_equal_to_the_reference(core, nthreads, m, k, n):
    model = _chain(np.random.default_rng(0), m, k, n)
    fast = gossamer.load(model, backends=["cython"], threads=nthreads, optimize=0)
    ref = gossamer.load(model, backends=[], optimize=0)
    assert set(fast.placement.backend_of.values()) == {"cython"}
    rng = np.random.default_rng(1)
    for i in range(6):  # the second run records, the later ones replay (new scales each run)
        x = (rng.standard_normal((m, k)) * (i + 1) + i - 2).astype(F32)
        if i == 4:
            x[3, 5] = np.nan
        (got,), (want,) = fast.run(None, {"x": x}), ref.run(None, {"x": x})
        assert got.tobytes() == want.tobytes()
    assert segments.split_reasons(fast._program) == {}
    segs = [s for _, _, s, _ in fast._program.schedule or () if s is not None]
    assert len(segs) == 1 and (segs[0].start, segs[0].stop) == (0, len(fast._program.nodes))
    assert not fast.runtime_fallbacks


def test_bad_arguments_are_value_errors():
    x = np.zeros((2, 3), F32)
    with pytest.raises(ValueError):
        ext().qdyn_quantize(np.zeros(0, F32), np.zeros(1, np.uint8), np.zeros(1, F32),
                            np.zeros(1, np.uint8), 1)  # fmt: skip
    with pytest.raises(ValueError):
        ext().qdyn_quantize(x.reshape(-1), np.zeros(5, np.uint8), np.zeros(1, F32),
                            np.zeros(1, np.uint8), 1)  # fmt: skip
    ep = ext().QEpilogue(3, np.ones(4, F32), 0, 1, None, 0, 0, 0.0)
    work = np.zeros(ext().qdyn_work_bytes(2, 4, 3, 0, False), np.uint8)
    bp = np.zeros(ext().qpacked_b_size(3, 4), np.int16)
    y = np.zeros((2, 4), F32)
    with pytest.raises(ValueError):  # neither x nor a
        ext().qdyn_matmul(2, 4, 3, None, None, 0, None, None, 0, None, 0, None, None, bp, ep,
                          work, False, y, 1)  # fmt: skip
    with pytest.raises(ValueError):  # work too small
        ext().qdyn_matmul(2, 4, 3, x, None, 0, None, None, 0, None, 0, None, None, bp, ep,
                          work[:8], False, y, 1)  # fmt: skip
    with pytest.raises(ValueError):  # a without a_scale
        ext().qdyn_matmul(2, 4, 3, None, np.zeros((2, 3), np.uint8), 0, None, None, 0, None, 0,
                          None, None, bp, ep, work, False, y, 1)  # fmt: skip
    ext().qdyn_matmul(2, 4, 3, x, None, 0, None, None, 0, None, 0, None, None, bp, ep, work,
                      False, y, 1)  # fmt: skip
    assert not y.any()
