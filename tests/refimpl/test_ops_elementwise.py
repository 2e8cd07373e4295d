"""Element-wise reference ops: what the ONNX node suite does not pin down.

Older-opset semantics, integer and string dtypes, empty and 0-d tensors, Cast corner cases and the
typed errors for bad attributes. Models are single nodes built with onnx.helper and run through
`gossamer.load`; onnxruntime is the yardstick wherever it implements the case.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from gossamer.refimpl.errors import GraphValidationError, NodeExecutionError
from gossamer.refimpl.ops._erf import erf
from gossamer.refimpl.ops.op_identity import identity_1
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import gossamer


def _elem(value: np.ndarray) -> int:
    if value.dtype == object:
        return TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(value.dtype)


def _model(
    op: str,
    inputs: list[np.ndarray | None],
    out_types: list[int],
    opset: int,
    **attrs,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """A one-node model; None in `inputs` is an omitted optional input."""
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    outs = [f"out{i}" for i in range(len(out_types))]
    node = helper.make_node(op, names, outs, **attrs)
    graph = helper.make_graph(
        [node],
        op.lower(),
        [helper.make_tensor_value_info(n, _elem(x), x.shape) for n, x in zip(names, inputs) if n],
        [helper.make_tensor_value_info(n, t, None) for n, t in zip(outs, out_types)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10 if opset <= 23 else 11
    feeds = {n: x for n, x in zip(names, inputs) if n}
    return model, feeds


def run(op: str, inputs, out_types, opset: int = 21, **attrs) -> list:
    model, feeds = _model(op, inputs, out_types, opset, **attrs)
    return gossamer.load(model.SerializeToString()).run(None, feeds)


def run_ort(op: str, inputs, out_types, opset: int = 21, **attrs) -> list:
    model, feeds = _model(op, inputs, out_types, opset, **attrs)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def assert_same_as_ort(op: str, inputs, out_types, opset: int = 21, **attrs) -> None:
    ours = run(op, inputs, out_types, opset, **attrs)
    theirs = run_ort(op, inputs, out_types, opset, **attrs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


F32, I64 = TensorProto.FLOAT, TensorProto.INT64


# ---- arithmetic -------------------------------------------------------------------------------
def test_integer_div_truncates_toward_zero_like_onnxruntime():
    a = np.array([7, -7, 7, -7, 0, -1, 100], np.int32)
    b = np.array([2, 2, -2, -2, 3, 5, -7], np.int32)
    assert_same_as_ort("Div", [a, b], [TensorProto.INT32])
    assert run("Div", [a, b], [TensorProto.INT32])[0].tolist() == [3, -3, -3, 3, 0, 0, -14]


def test_int64_div_stays_exact_beyond_float64_precision():
    a = np.array([2**62 + 1, -(2**62) - 1], np.int64)
    b = np.array([1, 1], np.int64)
    np.testing.assert_array_equal(run("Div", [a, b], [I64])[0], a)


@given(
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=8),
    st.integers(-50, 50).filter(lambda v: v != 0),
)
def test_integer_div_and_fmod_satisfy_the_c_division_identity(xs, d):
    a = np.array(xs, np.int64)
    b = np.full_like(a, d)
    q = run("Div", [a, b], [I64])[0]
    r = run("Mod", [a, b], [I64], fmod=1)[0]
    np.testing.assert_array_equal(q * b + r, a)
    assert np.all((r == 0) | (np.sign(r) == np.sign(a)))


def test_integer_mod_follows_the_sign_of_the_divisor_like_onnxruntime():
    a = np.array([5, -5, 5, -5, 0], np.int32)
    b = np.array([3, 3, -3, -3, -3], np.int32)
    assert_same_as_ort("Mod", [a, b], [TensorProto.INT32], opset=13)
    assert run("Mod", [a, b], [TensorProto.INT32], opset=13)[0].tolist() == [2, 1, -1, -2, 0]


def test_float_mod_without_fmod_is_rejected_before_opset_28():
    x = np.array([5.0, -5.0], np.float32)
    with pytest.raises(NodeExecutionError, match="fmod=1"):
        run("Mod", [x, x], [F32], opset=13)


def test_float_mod_without_fmod_takes_the_sign_of_the_divisor_from_opset_28():
    a = np.array([5.5, -5.5, 0.0], np.float32)
    b = np.array([-2.0, 2.0, -2.0], np.float32)
    y = run("Mod", [a, b], [F32], opset=28)[0]
    np.testing.assert_array_equal(y, [-0.5, 0.5, -0.0])
    assert np.signbit(y[2])


def test_mod_rejects_an_fmod_other_than_0_or_1():
    x = np.array([5], np.int32)
    with pytest.raises(NodeExecutionError, match="fmod must be 0 or 1"):
        run("Mod", [x, x], [TensorProto.INT32], fmod=2)


def test_pow_keeps_the_base_dtype_for_mixed_types():
    x = np.array([1.5, 2.0], np.float32)
    y = np.array([2, 3], np.int64)
    z = run("Pow", [x, y], [F32])[0]
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z, [2.25, 8.0])
    zi = run("Pow", [np.array([2, 3], np.int32), np.array([1.5, 2.0], np.float32)], [6])[0]
    assert zi.dtype == np.int32 and zi.tolist() == [2, 9]


def test_integer_pow_with_negative_exponent_truncates_like_c():
    x = np.array([2, -1, -1, 1, 5], np.int64)
    y = np.array([-1, -3, -2, -5, 0], np.int64)
    assert run("Pow", [x, y], [I64])[0].tolist() == [0, -1, 1, 1, 1]


def test_integer_arithmetic_wraps_around():
    a = np.array([120, -128], np.int8)
    b = np.array([10, 1], np.int8)
    assert run("Add", [a, b], [TensorProto.INT8])[0].tolist() == [-126, -127]
    assert run("Sub", [b, a], [TensorProto.INT8])[0].tolist() == [-110, -127]
    assert run("Mul", [a, b], [TensorProto.INT8])[0].tolist() == [-80, -128]


def test_binary_ops_broadcast_empty_tensors():
    a = np.zeros((0, 3), np.float32)
    b = np.ones((3,), np.float32)
    for op in ("Add", "Sub", "Mul", "Div", "Pow", "Max"):
        assert run(op, [a, b], [F32])[0].shape == (0, 3)


def test_unary_ops_keep_zero_d_shape_and_dtype():
    x = np.array(0.5, np.float16)
    for op in ("Exp", "Sigmoid", "Erf", "Round", "Softplus"):
        y = run(op, [x], [TensorProto.FLOAT16])[0]
        assert y.shape == () and y.dtype == np.float16


def test_round_is_half_to_even_like_onnxruntime():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6], np.float32)
    assert_same_as_ort("Round", [x], [F32])
    np.testing.assert_array_equal(run("Round", [x], [F32])[0], [0, 2, 2, -0, -2, -2, 2, 3])


def test_bfloat16_activations_compute_in_float32_and_round_once():
    x = np.array([-3.0, -0.5, 0.25, 4.0], ml_dtypes.bfloat16)
    y = run("Gelu", [x], [TensorProto.BFLOAT16], opset=20)[0]
    assert y.dtype == ml_dtypes.bfloat16
    expect = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)]
    np.testing.assert_array_equal(y, np.array(expect, np.float64).astype(ml_dtypes.bfloat16))


# ---- erf -------------------------------------------------------------------------------------
def test_erf_matches_math_erf_to_float64_precision():
    x = np.concatenate([np.linspace(-8, 8, 4001), [2.9999999, 3.0, 3.0000001, 1e-300, 30.0]])
    expect = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), expect, rtol=1e-14, atol=1e-300)


def test_erf_handles_special_values():
    y = erf(np.array([np.inf, -np.inf, np.nan, -0.0]))
    assert y[0] == 1.0 and y[1] == -1.0 and np.isnan(y[2]) and y[3] == 0 and np.signbit(y[3])


def test_erf_is_within_a_few_float64_ulps_of_math_erf_on_a_dense_grid_and_tails():
    grid = np.linspace(-7, 7, 70001)
    tails = np.geomspace(1e-310, 1e300, 3000)
    edges = np.array([0.46875, 4.0, 5.9, 6.0, 26.5, 27.0])  # Cody's range boundaries, underflow
    x = np.concatenate([grid, tails, -tails, edges, np.nextafter(edges, 0), -edges])
    expect = np.array([math.erf(v) for v in x])
    ulps = np.abs(erf(x) - expect) / np.spacing(np.abs(expect))
    assert ulps.max() <= 8


def test_erf_keeps_sign_of_zero_and_saturates_at_infinity():
    y = erf(np.array([0.0, -0.0, np.inf, -np.inf, 1e308, -1e308]))
    assert y.tolist() == [0.0, 0.0, 1.0, -1.0, 1.0, -1.0]
    assert np.signbit(y).tolist() == [False, True, False, True, False, True]


def test_erf_op_on_float32_is_correctly_rounded_math_erf():
    x = np.concatenate([np.linspace(-6, 6, 20001), [np.nan, 1e-30, -1e-30]]).astype(np.float32)
    y = run("Erf", [x], [F32])[0]
    expect = np.array([math.erf(v) for v in x.astype(np.float64)]).astype(np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expect)


# ---- variadic ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["Max", "Min", "Sum", "Mean"])
def test_variadic_ops_do_not_broadcast_before_opset_8(op):
    a, b = np.ones((2, 3), np.float32), np.ones((3,), np.float32)
    with pytest.raises(NodeExecutionError, match="does not broadcast"):
        run(op, [a, b], [F32], opset=7)
    assert run(op, [a, b], [F32], opset=8)[0].shape == (2, 3)


def test_mean_of_three_broadcast_inputs_like_onnxruntime():
    xs = [np.array([1.0, 4.0], np.float32), np.array([3.0], np.float32), np.array(5.0, np.float32)]
    assert_same_as_ort("Mean", xs, [F32], opset=13)


def test_max_of_unsigned_integers_and_nan_propagation():
    a, b = np.array([1, 250], np.uint8), np.array([200, 3], np.uint8)
    assert run("Max", [a, b], [TensorProto.UINT8])[0].tolist() == [200, 250]
    f = run("Min", [np.array([np.nan, 1.0], np.float32), np.array([0.0, 2.0], np.float32)], [F32])
    assert np.isnan(f[0][0]) and f[0][1] == 1.0


def test_single_input_sum_returns_a_copy_not_the_input():
    x = np.array([1.0, 2.0], np.float32)
    y = run("Sum", [x], [F32])[0]
    y[0] = 99.0
    assert x[0] == 1.0


# ---- comparison, logic, bitwise ------------------------------------------------------------
def test_equal_compares_strings_with_broadcasting():
    a = np.array([["a", "b"], ["c", "a"]], dtype=object)
    b = np.array(["a", "b"], dtype=object)
    assert run("Equal", [a, b], [TensorProto.BOOL])[0].tolist() == [[True, True], [False, False]]


def test_less_or_equal_on_uint64_beyond_int64():
    a = np.array([2**63 + 5, 1], np.uint64)
    b = np.array([2**63 + 4, 1], np.uint64)
    assert run("LessOrEqual", [a, b], [TensorProto.BOOL])[0].tolist() == [False, True]


def test_xor_broadcasts_like_onnxruntime():
    a = np.array([[True, False], [False, True]])
    assert_same_as_ort("Xor", [a, np.array([True, False])], [TensorProto.BOOL])


def test_signed_bitshift_is_rejected_before_opset_28():
    x = np.array([1], np.int32)
    with pytest.raises(NodeExecutionError, match="does not accept input 0 of dtype int32"):
        run("BitShift", [x, x], [TensorProto.INT32], opset=11, direction="LEFT")


def test_bitshift_by_the_bit_width_or_more_gives_zero_or_the_sign():
    x = np.array([-8, 8, -8, 8], np.int8)
    y = np.array([8, 9, -1, 3], np.int8)
    right = run("BitShift", [x, y], [TensorProto.INT8], opset=28, direction="RIGHT")[0]
    assert right.tolist() == [-1, 0, -1, 1]
    left = run("BitShift", [x, y], [TensorProto.INT8], opset=28, direction="LEFT")[0]
    assert left.tolist() == [0, 0, 0, 64]


def test_unsigned_bitshift_matches_onnxruntime():
    x = np.array([16, 255, 1], np.uint8)
    y = np.array([1, 4, 7], np.uint8)
    for direction in ("LEFT", "RIGHT"):
        assert_same_as_ort("BitShift", [x, y], [TensorProto.UINT8], opset=11, direction=direction)


def test_bitshift_rejects_an_unknown_direction():
    x = np.array([1], np.uint8)
    with pytest.raises(NodeExecutionError, match="direction must be"):
        run("BitShift", [x, x], [TensorProto.UINT8], opset=11, direction="UP")


def test_bitcast_reinterprets_bits_and_rejects_width_mismatch():
    x = np.array([1.0, -2.0], np.float32)
    y = run("BitCast", [x], [TensorProto.INT32], opset=26, to=TensorProto.INT32)[0]
    np.testing.assert_array_equal(y, x.view(np.int32))
    with pytest.raises(NodeExecutionError, match="equal bit widths"):
        run("BitCast", [x], [TensorProto.INT64], opset=26, to=TensorProto.INT64)


def test_bitcast_between_4_bit_types_keeps_the_nibble():
    x = np.array([-1, 7, -8], ml_dtypes.int4)
    y = run("BitCast", [x], [TensorProto.UINT4], opset=26, to=TensorProto.UINT4)[0]
    assert y.dtype == ml_dtypes.uint4 and y.astype(np.int32).tolist() == [15, 7, 8]


def test_where_selects_strings_with_a_zero_d_condition():
    x = np.array(["a", "b"], dtype=object)
    y = np.array(["c", "d"], dtype=object)
    out = run("Where", [np.array(False), x, y], [TensorProto.STRING])[0]
    assert out.tolist() == ["c", "d"]


# ---- activations -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op, attrs, opset",
    [
        ("LeakyRelu", {"alpha": 0.2}, 16),
        ("Elu", {"alpha": 0.7}, 21),
        ("Selu", {}, 21),
        ("Celu", {"alpha": 2.0}, 21),
        ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, 21),
        ("HardSwish", {}, 21),
        ("Softplus", {}, 21),
        ("Softsign", {}, 21),
        ("ThresholdedRelu", {"alpha": 0.5}, 21),
        ("Shrink", {"lambd": 1.0, "bias": 0.5}, 21),
        ("Sigmoid", {}, 21),
        ("Mish", {}, 21),
    ],
)
def test_activation_matches_onnxruntime(op, attrs, opset):
    x = np.linspace(-6, 6, 49, dtype=np.float32).reshape(7, 7)
    ours = run(op, [x], [F32], opset, **attrs)[0]
    theirs = run_ort(op, [x], [F32], opset, **attrs)[0]
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_is_the_float64_formula_rounded_once(approximate):
    # onnxruntime's float32 tanh variant is off by ~1% in the far negative tail; this is the truth
    x = np.linspace(-6, 6, 49, dtype=np.float32)
    v = x.astype(np.float64)
    if approximate == "tanh":
        inner = np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))
    else:
        inner = np.array([math.erf(e / math.sqrt(2)) for e in v])
    y = run("Gelu", [x], [F32], opset=20, approximate=approximate)[0]
    np.testing.assert_allclose(y, (0.5 * v * (1 + inner)).astype(np.float32), rtol=1e-7, atol=0)


def test_softplus_does_not_overflow_for_large_inputs():
    y = run("Softplus", [np.array([100.0, -100.0], np.float32)], [F32])[0]
    np.testing.assert_allclose(y, [100.0, 0.0], atol=1e-30)


def test_shrink_on_integers_keeps_the_dtype():
    x = np.array([-3, -1, 0, 1, 3], np.int32)
    y = run("Shrink", [x], [TensorProto.INT32], lambd=1.5, bias=1.0)[0]
    assert y.dtype == np.int32 and y.tolist() == [-2, 0, 0, 0, 2]


def test_prelu_rejects_a_slope_that_does_not_broadcast_to_x():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(NodeExecutionError, match="does not broadcast"):
        run("PRelu", [x, np.ones((2,), np.float32)], [F32])


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(NodeExecutionError, match="approximate"):
        run("Gelu", [np.ones(2, np.float32)], [F32], opset=20, approximate="fast")


def test_celu_rejects_alpha_zero():
    with pytest.raises(NodeExecutionError, match="alpha"):
        run("Celu", [np.ones(2, np.float32)], [F32], opset=12, alpha=0.0)


# ---- clip -----------------------------------------------------------------------------------
def test_clip_opset_6_takes_attribute_bounds_like_onnxruntime():
    x = np.array([-5.0, 0.5, 5.0], np.float32)
    assert_same_as_ort("Clip", [x], [F32], opset=6, min=-1.0, max=2.0)
    np.testing.assert_array_equal(run("Clip", [x], [F32], opset=6)[0], x)


def test_clip_with_only_a_max_bound_on_integers():
    x = np.array([-100, 5, 100], np.int8)
    y = run("Clip", [x, None, np.array(10, np.int8)], [TensorProto.INT8], opset=13)[0]
    assert y.tolist() == [-100, 5, 10]


def test_clip_rejects_non_scalar_bounds():
    x = np.zeros(3, np.float32)
    with pytest.raises(NodeExecutionError, match="must be a scalar"):
        run("Clip", [x, np.zeros(2, np.float32)], [F32], opset=13)


def test_clip_keeps_zero_d_input_zero_d():
    y = run("Clip", [np.array(3.0, np.float32), np.array(0.0, np.float32)], [F32], opset=13)[0]
    assert y.shape == () and y == 3.0


def test_clip_6_default_bounds_leave_float16_infinities_alone():
    x = np.array([-np.inf, -1.0, 65504.0, np.inf], np.float16)
    y = run("Clip", [x], [TensorProto.FLOAT16], opset=6)[0]
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, x)


def test_clip_propagates_nan_and_a_min_above_max_gives_max():
    x = np.array([np.nan, -3.0, 0.5, 9.0], np.float32)
    y = run("Clip", [x, np.array(4.0, np.float32), np.array(2.0, np.float32)], [F32], opset=13)[0]
    assert np.isnan(y[0]) and y[1:].tolist() == [2.0, 2.0, 2.0]


def test_relu_propagates_nan_and_keeps_integers_exact():
    y = run("Relu", [np.array([np.nan, -np.inf, -1.0, np.inf], np.float32)], [F32])[0]
    assert np.isnan(y[0]) and y[1:].tolist() == [0.0, 0.0, np.inf]
    big = np.array([-(2**62), 2**62 + 1], np.int64)
    assert run("Relu", [big], [I64])[0].tolist() == [0, 2**62 + 1]


# ---- isinf / isnan ---------------------------------------------------------------------------
def test_isinf_honours_detect_flags():
    x = np.array([np.inf, -np.inf, np.nan, 1.0], np.float32)
    b = TensorProto.BOOL
    assert run("IsInf", [x], [b])[0].tolist() == [True, True, False, False]
    assert run("IsInf", [x], [b], detect_negative=0)[0].tolist() == [True, False, False, False]
    assert run("IsInf", [x], [b], detect_positive=0)[0].tolist() == [False, True, False, False]


def test_isnan_on_float8():
    x = np.array([np.nan, 1.0], np.float32).astype(ml_dtypes.float8_e4m3fn)
    assert run("IsNaN", [x], [TensorProto.BOOL])[0].tolist() == [True, False]


# ---- cast -----------------------------------------------------------------------------------
def test_cast_float_to_string_matches_onnxruntime_text():
    x = np.array([0.47892547, 1e-7, np.nan, np.inf, -np.inf, 3.0, -0.0], np.float32)
    y = run("Cast", [x], [TensorProto.STRING], to=TensorProto.STRING)[0]
    assert y.dtype == object
    assert y.tolist() == ["0.47892547", "1e-07", "NaN", "INF", "-INF", "3", "-0"]


def test_cast_bool_and_int_to_string():
    y = run("Cast", [np.array([True, False])], [TensorProto.STRING], to=TensorProto.STRING)[0]
    assert y.tolist() == ["1", "0"]
    y = run("Cast", [np.array([-5, 7], np.int8)], [TensorProto.STRING], to=TensorProto.STRING)[0]
    assert y.tolist() == ["-5", "7"]


def test_cast_string_to_float_parses_special_literals_like_onnxruntime():
    x = np.array(["1.5", "nan", "-INF", "+inf", "1e-5", "1E8", " 2.5"], dtype=object)
    ours = run("Cast", [x], [F32], to=F32)[0]
    theirs = run_ort("Cast", [x], [F32], to=F32)[0]
    np.testing.assert_array_equal(ours, theirs)


def test_cast_string_with_decimals_to_int_truncates():
    x = np.array(["100", "-7", "100.5"], dtype=object)
    y = run("Cast", [x], [TensorProto.INT32], to=TensorProto.INT32)[0]
    assert y.dtype == np.int32 and y.tolist() == [100, -7, 100]


def test_cast_integer_overflow_wraps_like_onnxruntime():
    x = np.array([200, -200, 70000], np.int32)
    assert_same_as_ort("Cast", [x], [TensorProto.INT8], opset=13, to=TensorProto.INT8)


def test_cast_float_to_bool_maps_only_zero_to_false():
    x = np.array([0.0, -0.0, 0.1, np.nan, -3.0], np.float32)
    assert_same_as_ort("Cast", [x], [TensorProto.BOOL], opset=13, to=TensorProto.BOOL)


def ort_cast_round_trip(x: np.ndarray, to: int, opset: int = 21, **attrs) -> np.ndarray:
    """onnxruntime's Cast(x, to) read back as float32 (its Python API cannot return bf16/float8)."""
    nodes = [
        helper.make_node("Cast", ["x"], ["narrow"], to=to, **attrs),
        helper.make_node("Cast", ["narrow"], ["y"], to=F32),
    ]
    graph = helper.make_graph(
        nodes,
        "round_trip",
        [helper.make_tensor_value_info("x", F32, x.shape)],
        [helper.make_tensor_value_info("y", F32, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_cast_float_to_bfloat16_rounds_to_nearest_even_like_onnxruntime():
    x = np.array([1.00390625, 1.01171875, 3.0e38, -1.5e-40, np.inf, np.nan], np.float32)
    ours = run("Cast", [x], [TensorProto.BFLOAT16], opset=13, to=TensorProto.BFLOAT16)[0]
    assert ours.dtype == ml_dtypes.bfloat16
    theirs = ort_cast_round_trip(x, TensorProto.BFLOAT16, opset=13)
    np.testing.assert_array_equal(ours.astype(np.float32), theirs)


@pytest.mark.parametrize(
    "to", [TensorProto.FLOAT8E4M3FN, TensorProto.FLOAT8E4M3FNUZ, TensorProto.FLOAT8E5M2]
)
@pytest.mark.parametrize("saturate", [0, 1])
def test_cast_to_float8_saturation_matches_onnxruntime(to, saturate):
    x = np.array([0.3, 448.0, 500.0, 1e6, -1e6, np.inf, -np.inf, np.nan, -0.0], np.float32)
    ours = run("Cast", [x], [to], to=to, saturate=saturate)[0]
    theirs = ort_cast_round_trip(x, to, saturate=saturate)
    np.testing.assert_array_equal(ours.astype(np.float32), theirs)


def test_cast_to_float8_before_opset_19_saturates():
    x = np.array([1e6, -np.inf], np.float32)
    to = TensorProto.FLOAT8E4M3FN
    y = run("Cast", [x], [to], opset=13, to=to)[0]
    assert y.astype(np.float32).tolist() == [448.0, -448.0]


@pytest.mark.parametrize("round_mode", ["up", "down", "nearest"])
def test_cast_to_e8m0_rounds_as_onnx_numpy_helper(round_mode):
    x = np.array([0.124, 0.25, 0.375, 0.75, 1.1, 1.5, 3.0, 2.0**100, 1e-30], np.float32)
    to = TensorProto.FLOAT8E8M0
    y = run("Cast", [x], [to], opset=24, to=to, round_mode=round_mode)[0]
    expect = numpy_helper.to_float8e8m0(x, True, round_mode)
    np.testing.assert_array_equal(y.view(np.uint8), expect.view(np.uint8))


def test_cast_to_e8m0_rounds_subnormals_to_the_nearer_power_of_two():
    # 6e-39 lies between 2**-127 (code 0) and 2**-126 (code 1), nearer the first
    x = np.array([6e-39, 1e-38], np.float32)
    to = TensorProto.FLOAT8E8M0
    codes = {
        mode: run("Cast", [x], [to], opset=24, to=to, round_mode=mode)[0].view(np.uint8).tolist()
        for mode in ("up", "down", "nearest")
    }
    assert codes == {"up": [1, 1], "down": [0, 0], "nearest": [0, 1]}


def test_cast_to_e8m0_without_saturation_gives_nan_for_zero_and_infinity():
    x = np.array([0.0, np.inf, 1.0], np.float32)
    to = TensorProto.FLOAT8E8M0
    y = run("Cast", [x], [to], opset=24, to=to, saturate=0)[0]
    assert y.view(np.uint8).tolist() == [255, 255, 127]


def test_cast_rejects_an_unknown_round_mode_and_type_code():
    x = np.ones(2, np.float32)
    to = TensorProto.FLOAT8E8M0
    with pytest.raises(NodeExecutionError, match="round_mode"):
        run("Cast", [x], [to], opset=24, to=to, round_mode="sideways")
    with pytest.raises(NodeExecutionError, match="'to' = 99"):
        run("Cast", [x], [F32], to=99)


def test_cast_without_to_is_a_graph_error():
    model, _ = _model("Cast", [np.ones(1, np.float32)], [F32], 13)
    with pytest.raises(GraphValidationError, match="required attribute"):
        gossamer.load(model.SerializeToString())


def test_castlike_opset_15_takes_the_dtype_of_the_second_input():
    x = np.array([1.7, -2.2], np.float32)
    y = run("CastLike", [x, np.zeros(0, np.int16)], [TensorProto.INT16], opset=15)[0]
    assert y.dtype == np.int16 and y.tolist() == [1, -2]


def test_cast_between_sub_byte_integers_wraps_to_the_low_bits():
    x = np.array([-2, 7], ml_dtypes.int4)
    y = run("Cast", [x], [TensorProto.UINT4], to=TensorProto.UINT4)[0]
    assert y.dtype == ml_dtypes.uint4 and y.astype(np.int32).tolist() == [14, 7]


def test_cast_float8_to_string_prints_the_float8_value():
    x = np.array([1.5, -2.0, 0.3], np.float32).astype(ml_dtypes.float8_e5m2)
    y = run("Cast", [x], [TensorProto.STRING], to=TensorProto.STRING)[0]
    assert y.tolist() == ["1.5", "-2", "0.3125"]


def test_cast_of_an_empty_tensor_keeps_its_shape():
    y = run("Cast", [np.zeros((0, 2), np.float64)], [F32], to=F32)[0]
    assert y.shape == (0, 2) and y.dtype == np.float32


# ---- identity / dropout --------------------------------------------------------------------
def test_identity_copies_tensors_and_passes_sequences_and_empty_optionals():
    x = np.arange(3)
    y = identity_1(x)
    assert y is not x and y.tolist() == [0, 1, 2]
    seq = [np.ones(1), np.zeros(2)]
    out = identity_1(seq)
    assert out == seq and out is not seq
    assert identity_1(None) is None


def test_dropout_opset_7_mask_has_the_data_type_and_opset_10_mask_is_bool():
    x = np.array([1.0, 2.0], np.float32)
    y7, m7 = run("Dropout", [x], [F32, F32], opset=7, ratio=0.3)
    np.testing.assert_array_equal(y7, x)
    assert m7.dtype == np.float32 and m7.tolist() == [1.0, 1.0]
    y10, m10 = run("Dropout", [x], [F32, TensorProto.BOOL], opset=10)
    assert m10.dtype == np.bool_ and m10.all()


def test_dropout_inference_is_identity_with_an_all_true_mask():
    x = np.linspace(-1, 1, 10, dtype=np.float32)
    y, mask = run("Dropout", [x, np.array(0.9, np.float32)], [F32, TensorProto.BOOL], opset=13)
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == np.bool_ and mask.all()


def test_training_dropout_with_a_seed_is_reproducible_and_rescales_kept_values():
    x = np.linspace(1, 2, 1000, dtype=np.float32)
    feeds = [x, np.array(0.25, np.float32), np.array(True)]
    out_types = [F32, TensorProto.BOOL]
    y1, m1 = run("Dropout", feeds, out_types, opset=13, seed=7)
    y2, m2 = run("Dropout", feeds, out_types, opset=13, seed=7)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(m1, m2)
    expect_mask = np.random.RandomState(7).uniform(0, 1, x.shape) >= 0.25
    np.testing.assert_array_equal(m1, expect_mask)
    np.testing.assert_allclose(y1, np.where(m1, x / 0.75, 0.0), rtol=1e-6)


def test_training_dropout_rejects_ratio_one():
    feeds = [np.ones(4, np.float32), np.array(1.0, np.float32), np.array(True)]
    with pytest.raises(NodeExecutionError, match=r"ratio must be in \[0, 1\)"):
        run("Dropout", feeds, [F32], opset=13, seed=0)
