"""The exact int8 element-wise kernels (src/qelementwise.h: QLinearAdd, QLinearMul,
QLinearGlobalAveragePool): bit-identical to the reference at every SIMD level this CPU has,
including every pair of 8-bit values (where an FMA-contracted kernel would differ near .5 ties)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, load_from_string

import gossamer

from ._qhelpers import q_model, run_exact

F32 = np.float32
MS = "com.microsoft"


def _q(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def _binary_consts(rng, dtype, b=None):  # type: ignore[no-untyped-def]
    consts = {
        "a_scale": F32(rng.random() * 0.1 + 1e-3), "a_zero_point": _q(rng, (), dtype),
        "b": b, "b_scale": F32(rng.random() * 0.1 + 1e-3), "b_zero_point": _q(rng, (), dtype),
        "c_scale": F32(rng.random() * 0.2 + 1e-3), "c_zero_point": _q(rng, (), dtype),
    }  # fmt: skip
    return consts


@pytest.mark.parametrize("op", ["QLinearAdd", "QLinearMul"])
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_pair_of_values(level, op, dtype, seed):
    rng = np.random.default_rng(seed)
    codes = np.arange(np.iinfo(dtype).min, np.iinfo(dtype).max + 1).astype(dtype)
    a, b = np.repeat(codes, 256), np.tile(codes, 256)  # all 65536 pairs
    order = ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "c_scale",
             "c_zero_point"]  # fmt: skip
    consts = _binary_consts(rng, dtype)
    del consts["b"]
    model = q_model(op, {"a": a, "b": b}, consts, domain=MS, order=order)
    run_exact(model, {"a": a, "b": b}, 2)


@settings(max_examples=30, deadline=None)
@given(
    op=st.sampled_from(["QLinearAdd", "QLinearMul"]), dtype=st.sampled_from(["uint8", "int8"]),
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple),
    one_value=st.sampled_from(["none", "b", "a"]), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_qlinear_binary(level, nthreads, op, dtype, shape, one_value, seed):
    if one_value == "a" and op == "QLinearAdd":
        one_value = "b"  # the add is not symmetric in float32: a one-value A is declined
    rng = np.random.default_rng(seed)
    a = _q(rng, (1,) if one_value == "a" else shape, dtype)
    b = _q(rng, (1,) if one_value == "b" else shape, dtype)
    run_exact(q_model(op, {"a": a}, _binary_consts(rng, dtype, b), domain=MS), {"a": a}, nthreads)


@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from(["uint8", "int8"]), n=st.integers(1, 3), c=st.integers(1, 20),
    hw=st.sampled_from([(1, 1), (7, 7), (3, 50), (1, 1000)]), seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_qlinear_global_average_pool(level, nthreads, dtype, n, c, hw, seed):
    rng = np.random.default_rng(seed)
    x = _q(rng, (n, c, *hw), dtype)
    consts = {
        "x_scale": F32(rng.random() * 0.1 + 1e-3), "x_zero_point": _q(rng, (), dtype),
        "y_scale": F32(rng.random() * 0.1 + 1e-3), "y_zero_point": _q(rng, (), dtype),
    }  # fmt: skip
    run_exact(q_model("QLinearGlobalAveragePool", {"x": x}, consts, domain=MS), {"x": x}, nthreads)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=3).map(tuple),
    kind=st.sampled_from(["normal", "positive", "negative", "zeros", "nan", "inf", "huge"]),
    seed=st.integers(0, 2**31 - 1),
)  # fmt: skip
def test_dynamic_quantize_linear(level, nthreads, shape, kind, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * rng.uniform(1e-3, 1e3)).astype(F32)
    with np.errstate(over="ignore"):  # "huge" overflows some values to infinities on purpose
        variants = {"positive": np.abs(x), "negative": -np.abs(x), "zeros": x * 0,
                    "huge": x * F32(1e35)}  # fmt: skip
    x = variants.get(kind, x)
    if kind in ("nan", "inf"):
        x.reshape(-1)[rng.integers(0, x.size)] = np.nan if kind == "nan" else np.inf
    model = q_model("DynamicQuantizeLinear", {"x": x}, {})
    proto = load_from_string(model)  # three outputs: y, scale, zero point
    proto.graph.node[0].output[:] = ["y", "s", "z"]
    proto.graph.output.extend(helper.make_tensor_value_info(n, 0, None) for n in ("s", "z"))
    ours = gossamer.load(
        proto.SerializeToString(), backends=["cython"], threads=nthreads, optimize=0
    )
    ref = gossamer.load(proto.SerializeToString(), backends=[], optimize=0)
    assert set(ours.placement.backend_of.values()) == {"cython"}
    for got, want in zip(ours.run(None, {"x": x}), ref.run(None, {"x": x}), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert not ours.runtime_fallbacks


POOLS = [
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [2, 3], "ceil_mode": 1, "strides": [2, 2]},
]


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("geometry", POOLS)
def test_eight_bit_max_pool(level, nthreads, dtype, geometry):
    x = _q(np.random.default_rng(9), (2, 3, 11, 10), dtype)
    run_exact(q_model("MaxPool", {"x": x}, {}, **geometry), {"x": x}, nthreads)


@pytest.mark.parametrize("dtype", ["uint8", "int8", None])
@pytest.mark.parametrize("opset", [10, 13, 19, 21])
def test_quantize_linear_per_tensor(level, nthreads, dtype, opset):
    rng = np.random.default_rng(opset)
    x = (rng.standard_normal((2, 3, 50)) * 40).astype(F32)
    x.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, 0.5]
    zp = None if dtype is None else _q(rng, (), dtype)
    consts = {"s": F32(0.37), "z": zp} if zp is not None else {"s": F32(0.37)}
    model = q_model("QuantizeLinear", {"x": x}, consts)
    proto = load_from_string(model)
    proto.opset_import[0].version = opset
    run_exact(proto.SerializeToString(), {"x": x}, nthreads)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("scale", [0.5, 0.37, 3e-5])
def test_quantize_linear_ties_saturation_and_tails(level, nthreads, dtype, scale):
    # x / 0.5 lands exactly on halves (ties to even, both signs), values around both
    # saturation edges, -0.0, subnormals, NaN and infinities at every vector lane position, and
    # a length that leaves a tail after the 16- and 8-wide blocks
    rng = np.random.default_rng(int(scale * 1e6))
    ties = (np.arange(-300, 301, dtype=F32) + F32(0.5)) * F32(0.5)
    edges = np.array([-129, -128.5, -128, -127.5, 126.5, 127.5, 128, 254.5, 255.5, 256, -0.0,
                      1e-40, -1e-40, 3e38, -3e38], F32) * F32(scale)  # fmt: skip
    x = np.concatenate([ties, edges, (rng.standard_normal(3000) * 200 * scale).astype(F32)])
    for lane, bad in zip(range(0, 32, 3), [np.nan, np.inf, -np.inf] * 11, strict=False):
        x[100 + lane * 17] = bad
    x = x[: 16 * (x.size // 16) - 3].reshape(1, -1)
    consts = {"s": F32(scale), "z": _q(rng, (), dtype)}
    run_exact(q_model("QuantizeLinear", {"x": x}, consts), {"x": x}, nthreads)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_dequantize_linear_per_tensor(level, nthreads, dtype):
    rng = np.random.default_rng(3)
    x = _q(rng, (4, 300), dtype)
    consts = {"s": F32(0.0123), "z": _q(rng, (), dtype)}
    run_exact(q_model("DequantizeLinear", {"x": x}, consts), {"x": x}, nthreads)


@pytest.mark.parametrize("n", [1, 31, 32, 47, 16384, 40000])
def test_qminmax_skips_nans_wherever_they_are(level, nthreads, n):
    rng = np.random.default_rng(n)
    for where in ([], [0], [n - 1], list(range(0, n, 7))):
        x = rng.standard_normal(n).astype(F32)
        x[where] = np.nan
        lo, hi, nan = ext().qminmax(x, nthreads)
        assert nan == bool(where)
        if len(where) == n:
            assert (lo, hi) == (np.inf, -np.inf)
        else:
            assert (lo, hi) == (np.nanmin(x), np.nanmax(x))
    x = np.full(n, np.nan, F32)
    x[-1] = -np.inf
    assert ext().qminmax(x, nthreads) == (-np.inf, -np.inf, n > 1)


@pytest.fixture(params=[(0, 1), (1, 1), (2, 1), (3, 1), (3, 4), (3, 16)])
def qsplit(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Each of the int8 thread splits (src/qconv_split.h; 3 splits the element-wise ops by the
    pixels of every plane, here from 4096 elements and planes of any size) as (mode, pieces per
    part), put back after the test."""
    before, px_min = (ext().qsplit_mode(), ext().qsplit_pieces()), ext().qew_px_min()
    plane_min = ext().qew_plane_min()
    ext().qsplit_mode(request.param[0])
    ext().qsplit_pieces(request.param[1])
    ext().qew_px_min(4096)
    ext().qew_plane_min(0)
    yield request.param
    ext().qsplit_mode(before[0])
    ext().qsplit_pieces(before[1])
    ext().qew_px_min(px_min)
    ext().qew_plane_min(plane_min)


# planes of 56 x 56 and 7 x 7 (MobileNetV2's adds; 49 pixels: parts of 32 and 17 on 2 threads,
# an empty part on 3, so flat runs), 31 x 33, 33 (parts of 32 and 1) and 1 (flat runs), all
# over the 4096 elements the fixture sets as qew_px_min; the last below it (one thread)
SPLIT_SHAPES = [(1, 24, 56, 56), (1, 160, 7, 7), (2, 5, 31, 33), (1, 130, 33), (1, 4100, 1, 1),
                (1, 3, 20, 20)]  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("shape", SPLIT_SHAPES)
def test_element_wise_ops_are_the_reference_under_every_split(level, qsplit, threads, shape):
    """QLinearAdd (same shape and a one-value B), QLinearMul, QuantizeLinear and DequantizeLinear
    over NCHW tensors on 1-3 threads under every split: bit-identical to the reference."""
    rng = np.random.default_rng(len(shape) * 1000 + shape[1] + threads)
    order = ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "c_scale",
             "c_zero_point"]  # fmt: skip
    a, b = _q(rng, shape, "uint8"), _q(rng, shape, "uint8")
    consts = _binary_consts(rng, "uint8")
    del consts["b"]
    for op in ("QLinearAdd", "QLinearMul"):
        run_exact(q_model(op, {"a": a, "b": b}, consts, domain=MS, order=order),
                  {"a": a, "b": b}, threads)  # fmt: skip
    one = _binary_consts(rng, "uint8", b=_q(rng, (1,), "uint8"))
    run_exact(q_model("QLinearAdd", {"a": a}, one, domain=MS, order=order), {"a": a}, threads)
    x = (rng.standard_normal(shape) * 40).astype(F32)
    x.reshape(-1)[::97] = np.nan
    zp = _q(rng, (), "int8")
    run_exact(q_model("QuantizeLinear", {"x": x}, {"s": F32(0.37), "z": zp}), {"x": x}, threads)
    run_exact(q_model("DequantizeLinear", {"a": a}, {"s": F32(0.0123), "z": _q(rng, (), "uint8")}),
              {"a": a}, threads)  # fmt: skip


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("plane", [0, 1, 31, 33, 49, 100, 3136, 7])
@pytest.mark.parametrize("pieces", [1, 4, 16])
def test_every_element_written_under_the_pixel_split(level, threads, plane, pieces):
    """The C drivers given a plane size under split 3 (and one that does not divide n: flat runs)
    write every element once, each part whole or in pieces: two outputs prefilled differently
    agree with one flat thread."""
    rng = np.random.default_rng(plane + threads)
    n = 4096 * 3 + (0 if plane in (0, 7) else plane * 3 - (4096 * 3) % plane)
    a, b = _q(rng, (n,), "uint8"), _q(rng, (n,), "uint8")
    x = (rng.standard_normal(n) * 40).astype(F32)
    before, px_min = (ext().qsplit_mode(), ext().qsplit_pieces()), ext().qew_px_min()
    plane_min = ext().qew_plane_min()
    ext().qew_px_min(4096)
    ext().qew_plane_min(0)
    ext().qsplit_pieces(pieces)
    try:
        runs = []
        for mode, t, fill in ((0, 1, 0), (3, threads, 0), (3, threads, 255)):
            ext().qsplit_mode(mode)
            y, q, d = np.full(n, fill, np.uint8), np.full(n, fill, np.uint8), np.full(n, fill, F32)
            ext().qbinary(0, a, b, 0, 0.7, 0.3, 5.0, 0, 0, y, t, plane)
            ext().qquantize(x, 0.37, 3.0, 0, q, t, plane)
            ext().qdequantize(a, 0, 7, 0.25, d, t, plane)
            runs.append((y, q, d))
        for got in runs[1:]:
            for g, w in zip(got, runs[0], strict=True):
                np.testing.assert_array_equal(g, w)
    finally:
        ext().qsplit_mode(before[0])
        ext().qsplit_pieces(before[1])
        ext().qew_px_min(px_min)
        ext().qew_plane_min(plane_min)


# (shape, kernel, strides, pads, dilations, ceil_mode): ResNet's 3x3 s2 p1 on an even and an odd
# plane (the stride-2 vector path and its tail), 2x2 s2, 3x3 s1 p1, a dilated 3x3, ceil mode
# (windows past the end), and pads of 2 around planes of 1-2 pixels (windows all padding)
MAXPOOL_CASES = [
    ((1, 5, 112, 112), [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 0),
    ((2, 3, 37, 45), [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], 0),
    ((1, 4, 20, 34), [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], 0),
    ((1, 3, 19, 40), [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 0),
    ((1, 2, 21, 23), [3, 3], [1, 2], [2, 1, 2, 1], [2, 2], 0),
    ((1, 3, 17, 18), [3, 2], [2, 3], [0, 1, 1, 0], [1, 1], 1),
    ((1, 2, 2, 1), [3, 3], [1, 1], [2, 2, 2, 2], [1, 1], 0),
]


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", MAXPOOL_CASES)
def test_eight_bit_max_pool_is_the_reference(dtype, threads, case):
    """MaxPool on uint8 / int8 runs ext.qmaxpool on the bytes: bit-identical to the reference
    (the type's lowest value where a window has no tap inside), both extremes in the data, and
    again on new data where the call replays from a recorded segment."""
    shape, kernel, strides, pads, dilations, ceil = case
    rng = np.random.default_rng(sum(shape) + threads)
    info = np.iinfo(dtype)
    x = _q(rng, shape, dtype)
    x.reshape(-1)[::7], x.reshape(-1)[3::11] = info.min, info.max
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "dilations": dilations,
             "ceil_mode": ceil}  # fmt: skip
    model = q_model("MaxPool", {"x": x}, {}, **attrs)
    run_exact(model, {"x": x}, threads)
    ours = gossamer.load(model, backends=["cython"], threads=threads)
    ref = gossamer.load(model, backends=[], optimize=0)
    for seed in range(3):  # the later runs replay the recorded call
        x2 = _q(np.random.default_rng(seed), shape, dtype)
        (got,), (want,) = ours.run(None, {"x": x2}), ref.run(None, {"x": x2})
        np.testing.assert_array_equal(got, want)
    assert not ours.runtime_fallbacks


def test_qmaxpool_refuses_bad_arguments():
    """The wrapper's checks: planes of y, the type code, the output size the window gives."""
    x, y = np.zeros((2, 8, 8), np.uint8), np.zeros((2, 4, 4), np.uint8)
    ext().qmaxpool(x, 0, 2, 2, 2, 2, 1, 1, 0, 0, y, 1)
    with pytest.raises(ValueError, match="planes"):
        ext().qmaxpool(x, 0, 2, 2, 2, 2, 1, 1, 0, 0, np.zeros((3, 4, 4), np.uint8), 1)
    with pytest.raises(ValueError):
        ext().qmaxpool(x, 7, 2, 2, 2, 2, 1, 1, 0, 0, y, 1)
    with pytest.raises(ValueError):
        ext().qmaxpool(x, 0, 2, 2, 0, 2, 1, 1, 0, 0, y, 1)
    with pytest.raises(ValueError):
        ext().qmaxpool(x, 0, 2, 2, 2, 2, 1, 1, -1, 0, y, 1)


# (a_scale, b_scale, c_scale): ordinary ratios; ratios whose values reach +-2^29 (the fast
# kernels' conversion and saturating packs); past +-2^30 (the general kernels); an infinite
# and a NaN ratio (the general kernels' NaN -> 0); a zero ratio
FAST_SCALES = [(0.031, 0.027, 0.043), (2e6, 1.5e6, 1.0), (1e7, 3e6, 1.0),
               (np.inf, 0.5, 1.0), (0.0, 0.5, 0.0), (0.0, 0.0, 1.0)]  # fmt: skip


@pytest.mark.parametrize("op", [0, 1])
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("scales", FAST_SCALES)
@pytest.mark.parametrize("one_b", [False, True])
def test_qbinary_fast_and_general_kernels_are_the_reference(level, op, dtype, scales, one_b):
    """ext.qbinary with the fast kernels on and off, over every run length 1-200 (each
    vector block's tail, masked or through a copy) and both saturation edges, against the
    reference's QLinearAdd / QLinearMul."""
    from gossamer.cython_kernels.qelementwise_kernels import _add_params, _mul_params
    from gossamer.refimpl.ops.op_qlinear_add import qlinear_add_1
    from gossamer.refimpl.ops.op_qlinear_mul import qlinear_mul_1

    code = 0 if dtype == "uint8" else 1
    rng = np.random.default_rng(op * 4 + code * 2 + one_b)
    sa, sb, sc = (F32(s) for s in scales)
    za, zb, zc = _q(rng, (), dtype), _q(rng, (), dtype), _q(rng, (), dtype)
    ref, params = (qlinear_add_1, _add_params) if op == 0 else (qlinear_mul_1, _mul_params)
    before = ext().qbinary_fast()
    try:
        for n in list(range(1, 200)) + [1000, 4097]:
            a = _q(rng, (n,), dtype)
            b = _q(rng, (1,) if one_b else (n,), dtype)
            with np.errstate(all="ignore"):
                want = ref(a, sa, za, b, sb, zb, sc, zc)
                ra, rb, fixed, pa, pb = params(a, sa, za, b, sb, zb, sc, zc)
            for fast in (1, 0):
                ext().qbinary_fast(fast)
                y = np.full(n + 7, 99, np.uint8)
                ext().qbinary(op, a.view(np.uint8), b.view(np.uint8), code, ra, rb, fixed, pa, pb,
                              y, 1)  # fmt: skip
                np.testing.assert_array_equal(y[:n].view(dtype), want, err_msg=f"n={n}")
                assert (y[n:] == 99).all()  # nothing written past the run
    finally:
        ext().qbinary_fast(before)
