"""tflite::Conv2D / DepthwiseConv2D / FullyConnected (8-bit) on cython: bit-exact against the
reference at every SIMD level, and the fixed-point epilogue against the reference's
MultiplyByQuantizedMultiplier over the whole int32 accumulator range."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.ir import Value
from gossamer.refimpl.ops import tflite_integer as ti
from hypothesis import given, settings
from hypothesis import strategies as st

import gossamer
from tests.cython_kernels._tflhelpers import ints, qparams, run_tfl_exact, tfl_graph

ACTIVATIONS = st.sampled_from(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
DTYPES = st.sampled_from(["int8", "uint8"])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31), dtype=DTYPES, n=st.integers(1, 2), hw=st.tuples(
        st.integers(1, 9), st.integers(1, 9)), c=st.integers(1, 9), o=st.integers(1, 20),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)), s=st.tuples(
        st.integers(1, 2), st.integers(1, 2)), d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.sampled_from(["SAME", "VALID"]), per_channel=st.booleans(), bias=st.booleans(),
    activation=ACTIVATIONS,
)  # fmt: skip
def test_conv_2d(level, nthreads, seed, dtype, n, hw, c, o, k, s, d, padding, per_channel, bias,
                 activation):  # fmt: skip
    rng = np.random.default_rng(seed)
    h, w = (max(size, (kk - 1) * dd + 1) for size, kk, dd in zip(hw, k, d))
    x, wt = ints(rng, (n, h, w, c), dtype), ints(rng, (o, *k, c), dtype)
    consts = qparams(rng, dtype, o, per_channel, bias, k[0] * k[1] * c)
    consts[2] = wt
    run_tfl_exact("Conv2D", x, consts, nthreads, strides=list(s), dilations=list(d),
                  padding=padding, activation=activation)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31), dtype=DTYPES, n=st.integers(1, 2), hw=st.tuples(
        st.integers(1, 9), st.integers(1, 9)), c=st.integers(1, 12), mult=st.integers(1, 3),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)), s=st.tuples(
        st.integers(1, 2), st.integers(1, 2)), d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.sampled_from(["SAME", "VALID"]), per_channel=st.booleans(), bias=st.booleans(),
    activation=ACTIVATIONS,
)  # fmt: skip
def test_depthwise_conv_2d(level, nthreads, seed, dtype, n, hw, c, mult, k, s, d, padding,
                           per_channel, bias, activation):  # fmt: skip
    rng = np.random.default_rng(seed)
    h, w = (max(size, (kk - 1) * dd + 1) for size, kk, dd in zip(hw, k, d))
    x, wt = ints(rng, (n, h, w, c), dtype), ints(rng, (1, *k, c * mult), dtype)
    consts = qparams(rng, dtype, c * mult, per_channel, bias, k[0] * k[1])
    consts[2] = wt
    run_tfl_exact("DepthwiseConv2D", x, consts, nthreads, strides=list(s), dilations=list(d),
                  padding=padding, activation=activation)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31), dtype=DTYPES, lead=st.sampled_from([(1,), (5,), (2, 3), (13,)]),
    k=st.integers(1, 70), n=st.integers(1, 40), per_channel=st.booleans(), bias=st.booleans(),
    activation=ACTIVATIONS,
)  # fmt: skip
def test_fully_connected(level, nthreads, seed, dtype, lead, k, n, per_channel, bias, activation):
    rng = np.random.default_rng(seed)
    x, wt = ints(rng, (*lead, k), dtype), ints(rng, (n, k), dtype)
    consts = qparams(rng, dtype, n, per_channel, bias, k)
    consts[2] = wt
    run_tfl_exact("FullyConnected", x, consts, nthreads, activation=activation)


def test_outputs_saturate_at_both_ends_and_clamp_to_the_activation(level):
    rng = np.random.default_rng(3)
    x, wt = ints(rng, (1, 6, 6, 16), "int8"), ints(rng, (24, 3, 3, 16), "int8")
    for activation in ("NONE", "RELU6"):
        consts = qparams(rng, "int8", 24, True, True, 144)
        consts[2], consts[5] = wt, np.array(1e-4, np.float32)  # tiny output scale: saturates
        y = run_tfl_exact("Conv2D", x, consts, 1, padding="SAME", activation=activation)
        lo, hi = ti.activation_range(activation, consts[5], consts[6], "int8")
        assert y.min() == lo and y.max() == hi


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), shift_lo=st.integers(-31, 30), out=st.sampled_from([0, 1]))
def test_fixed_point_epilogue_is_the_references_over_the_int32_range(level, seed, shift_lo, out):
    """acc + bias spans (and wraps) int32; multipliers and shifts over their whole range."""
    rng = np.random.default_rng(seed)
    m, k, n = 7, 3, 37
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    bias = rng.integers(-(2**31), 2**31, n, dtype=np.int64).astype(np.int32)
    mult = rng.integers(2**30, 2**31, n).astype(np.int32)
    mult[::5] = 0  # flushed multipliers
    bias[1:4] = [-(2**31), 2**31 - 1, -(2**31) + 1]  # acc + bias at and across the int32 ends
    shift = rng.integers(shift_lo, 31, n).astype(np.int32)
    zp = int(rng.integers(-128, 128)) if out else int(rng.integers(0, 256))
    lo, hi = (-128, 127) if out else (0, 255)
    lo, hi = sorted(int(v) for v in rng.integers(lo, hi + 1, 2))
    ap = np.empty(ext().qpacked_a_size(m, k), np.int16)
    bp = np.empty(ext().qpacked_b_size(k, n), np.int16)
    zero = np.zeros(1, np.int32)
    ext().qpack_a(a.view(np.uint8), 1, zero, ap, 1)
    ext().qpack_b(b.view(np.uint8), 1, zero, bp, 1)
    ep = ext().QEpilogue(out, None, 0, 0, bias, 0, 1, 0.0).fixed_point(mult, shift, 0, 1, zp,
                                                                       lo, hi)  # fmt: skip
    y = np.empty((m, n), np.int8 if out else np.uint8)
    ext().qgemm(m, n, k, ap, bp, y, ep, 0, 0, 1)
    acc = ti.multiply_by_quantized_multiplier(
        (a.astype(np.int64) @ b.astype(np.int64) + bias).astype(np.int32), mult, shift
    )
    np.testing.assert_array_equal(y, np.clip(acc + zp, lo, hi))


def test_fixed_point_wrapper_rejects_out_of_range_parameters():
    ep = ext().QEpilogue(1)
    one = np.ones(1, np.int32)
    with pytest.raises(ValueError, match="shift"):
        ep.fixed_point(one, np.array([31], np.int32), 0, 0, 0, -128, 127)
    with pytest.raises(ValueError, match="range"):
        ep.fixed_point(one, one, 0, 0, 0, -129, 127)
    with pytest.raises(ValueError, match="8-bit"):
        ext().QEpilogue(2).fixed_point(one, one, 0, 0, 0, 0, 1)
    ep.fixed_point(np.ones(2, np.int32), np.ones(2, np.int32), 1, 0, 0, -128, 127)
    ap = np.zeros(ext().qpacked_a_size(3, 1), np.int16)
    bp = np.zeros(ext().qpacked_b_size(1, 1), np.int16)
    with pytest.raises(ValueError, match="fixed-point multipliers"):
        ext().qgemm(3, 1, 1, ap, bp, np.empty((3, 1), np.int8), ep, 0, 0, 1)


def test_grouped_conv_and_16_bit_activations_are_declined_with_reasons():
    rng = np.random.default_rng(0)
    consts = qparams(rng, "int8", 4, False, False, 2)
    consts[2] = ints(rng, (4, 1, 1, 2), "int8")  # 4 input channels, filter depth 2: 2 groups
    grouped = gossamer.load(tfl_graph("Conv2D", ints(rng, (1, 3, 3, 4), "int8"), consts),
                            backends=["cython"], optimize=0)  # fmt: skip
    (reasons,) = grouped.placement.declined.values()
    assert "grouped" in reasons["cython"]
    x16 = ints(rng, (2, 8), "int16")
    consts = qparams(rng, "int8", 3, False, False, 8)
    consts[1] = consts[6] = np.array(0, np.int32)
    consts[2] = ints(rng, (3, 8), "int8")
    wide = gossamer.load(tfl_graph("FullyConnected", x16, consts), backends=["cython"],
                         optimize=0)  # fmt: skip
    assert set(wide.placement.backend_of.values()) == {"reference"}


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31), dtype=DTYPES,
    op=st.sampled_from(["Logistic", "Tanh", "Requantize"]),
    to=st.sampled_from(["int8", "uint8", "int16"]),
)  # fmt: skip
def test_table_ops_equal_the_reference_on_every_input_value(seed, dtype, op, to):
    rng = np.random.default_rng(seed)
    x = np.arange(256, dtype=np.uint8).view(dtype).reshape(2, 8, 16)
    info = np.iinfo(dtype)
    x_params = [np.array(rng.uniform(0.01, 0.2), np.float32),
                np.array(rng.integers(int(info.min), int(info.max) + 1), np.int32)]  # fmt: skip
    if op == "Requantize":
        out = np.iinfo(to)
        y_zp = rng.integers(max(out.min, -300), min(out.max, 300))
        y_params = [np.array(rng.uniform(0.005, 0.3), np.float32), np.array(y_zp, np.int32)]
        run_tfl_exact(op, x, x_params + y_params, 1, to=to)
    else:  # TFLite's fixed output params for these
        y_params = [np.array(1 / (256 if op == "Logistic" else 128), np.float32),
                    np.array(info.min if op == "Logistic" else (info.min + info.max + 1) // 2,
                             np.int32)]  # fmt: skip
        run_tfl_exact(op, x, x_params + y_params, 1)


def test_table_ops_with_run_time_parameters_decline_per_call():
    x = np.arange(256, dtype=np.uint8).view(np.int8).reshape(16, 16)
    params = [np.array(0.05, np.float32), np.array(3, np.int32), np.array(1 / 256, np.float32),
              np.array(-128, np.int32)]  # fmt: skip
    graph = tfl_graph("Logistic", x, params)
    graph.inputs.append(Value("c0", "float32", ()))
    graph.initializers.pop("c0")
    session = gossamer.load(graph, backends=["cython"], optimize=0)
    ref = gossamer.load(tfl_graph("Logistic", x, params), backends=[], optimize=0)
    (got,) = session.run(None, {"x": x, "c0": params[0]})
    np.testing.assert_array_equal(got, ref.run(None, {"x": x})[0])
    assert session.runtime_fallbacks


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31), dtype=DTYPES, op=st.sampled_from(["Add", "Sub", "Mul"]),
    shapes=st.sampled_from([((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((1, 5), (3, 1)),
                            ((), (7,))]),
    activation=ACTIVATIONS,
)  # fmt: skip
def test_binary_ops_equal_the_reference(seed, dtype, op, shapes, activation):
    rng = np.random.default_rng(seed)
    a, b = ints(rng, shapes[0], dtype), ints(rng, shapes[1], dtype)
    info = np.iinfo(dtype)

    def zp() -> np.ndarray:
        return np.array(rng.integers(int(info.min), int(info.max) + 1), np.int32)

    def scale() -> np.ndarray:
        return np.array(10 ** rng.uniform(-3, -1), np.float32)

    consts = [scale(), zp(), b, scale(), zp(), scale(), zp()]
    graph = tfl_graph(op, a, consts, activation=activation)
    graph.inputs.append(Value("c2", dtype, b.shape))  # b a graph input too
    graph.initializers.pop("c2")
    ours = gossamer.load(graph, backends=["cython"], optimize=0)
    ref = gossamer.load(tfl_graph(op, a, consts, activation=activation), backends=[], optimize=0)
    assert set(ours.placement.backend_of.values()) == {"cython"}
    (got,), (want,) = ours.run(None, {"x": a, "c2": b}), ref.run(None, {"x": a})
    assert got.dtype == want.dtype and not ours.runtime_fallbacks
    np.testing.assert_array_equal(got, want)


def test_table_ops_take_scalars_and_strided_inputs():
    params = [np.array(0.05, np.float32), np.array(3, np.int32), np.array(1 / 256, np.float32),
              np.array(-128, np.int32)]  # fmt: skip
    run_tfl_exact("Logistic", np.array(-7, np.int8), params, 1)
    strided = np.arange(256, dtype=np.uint8).view(np.int8).reshape(16, 16)[:, ::3]
    run_tfl_exact("Logistic", strided, params, 1)
