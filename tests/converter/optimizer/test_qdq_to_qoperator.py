"""qdq_to_qoperator on hand-built QDQ patterns: which patterns become which integer ops, what stays
float, and that results stay within 1 quantisation step of the QDQ graph (exact where the rewrite
only moves integers)."""

import numpy as np
import pytest
from gossamer.converter.onnx_export import graph_to_onnx
from gossamer.converter.optimizer import optimize
from gossamer.converter.optimizer.qdq_to_qoperator import qdq_to_qoperator
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import ops
from ._qdq_helpers import F32, QDQBuilder, feeds_for, output_steps, run, steps_apart

ACT_TYPES = [np.uint8, np.int8]


def _fused_within_one_step(graph, seeds=(0, 1, 2), exact=False, onnxruntime=False):
    """The pass's result, after checking it agrees with the QDQ graph on seeded feeds (and, with
    `onnxruntime`, that onnxruntime runs it saved as ONNX and agrees within 1 step too)."""
    fused = qdq_to_qoperator(graph)
    for seed in seeds:
        feeds = feeds_for(graph, seed)
        ours = run(fused, feeds)
        for worst, _share in steps_apart(run(graph, feeds), ours, output_steps(graph)):
            assert worst <= (0 if exact else 1) + 1e-6
        if onnxruntime:
            ort = pytest.importorskip("onnxruntime")
            model = graph_to_onnx(fused).SerializeToString()
            theirs = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(
                None, feeds
            )
            for worst, _share in steps_apart(ours, theirs, output_steps(graph)):
                assert worst <= 1 + 1e-6
    return fused


def _conv(b, x, cin=3, cout=4, axis=None, bias="int32", k=3):
    """Conv of x (quantised at scale 0.02, the input() default) by int8 weights."""
    w = b.rng.standard_normal((cout, cin, k, k)).astype(F32) * 0.3
    w_dq, w_scale = b.weight(w, axis)
    inputs = [x, w_dq]
    if bias == "int32":
        inputs.append(
            b.bias(b.rng.standard_normal(cout).astype(F32) * 0.1, np.float32(0.02) * w_scale)
        )
    elif bias == "float":
        inputs.append(b.const("bf", b.rng.standard_normal(cout).astype(F32) * 0.1))
    return b.node("Conv", inputs, pads=[1, 1, 1, 1], name="my_conv")[0]


@pytest.mark.parametrize("act", ACT_TYPES)
@pytest.mark.parametrize("axis", [None, 0])
def test_conv_with_quantised_bias_becomes_one_qlinear_conv_keeping_the_int32_bias(act, axis):
    b = QDQBuilder(act)
    y = b.qdq(_conv(b, b.input([1, 3, 8, 8]), axis=axis), 0.05)
    fused = _fused_within_one_step(b.graph([y]), onnxruntime=True)
    assert ops(fused) == {"QuantizeLinear": 1, "QLinearConv": 1, "DequantizeLinear": 1}
    conv = next(n for n in fused.nodes if n.op_type == "QLinearConv")
    assert conv.name == "my_conv"
    bias = next(k for k, v in b.inits.items() if v.dtype == np.int32 and k.startswith("b"))
    assert conv.inputs[8] == bias  # used as written: its scale is x_scale * w_scale


def test_a_float_bias_is_quantised_as_onnxruntime_does():
    b = QDQBuilder(np.uint8)
    y = b.qdq(_conv(b, b.input([1, 3, 8, 8]), axis=0, bias="float"), 0.05)
    graph = b.graph([y])
    fused = _fused_within_one_step(graph)
    conv = next(n for n in fused.nodes if n.op_type == "QLinearConv")
    w_scale = graph.initializers[conv.inputs[4]]
    real = next(v for k, v in graph.initializers.items() if k.startswith("bf"))
    expected = np.round(real.astype(np.float64) / (np.float32(0.02) * w_scale).astype(np.float64))
    np.testing.assert_array_equal(fused.initializers[conv.inputs[8]], expected.astype(np.int32))


def test_a_bias_at_another_scale_is_requantised_to_x_scale_times_w_scale():
    b = QDQBuilder(np.int8)
    x = b.input([1, 3, 8, 8])
    w_dq, w_scale = b.weight(b.rng.standard_normal((4, 3, 3, 3)).astype(F32), None)
    bias = b.bias(np.linspace(-1, 1, 4).astype(F32), np.float32(1e-3))  # not 0.02 * w_scale
    y = b.qdq(b.node("Conv", [x, w_dq, bias], pads=[1, 1, 1, 1])[0], 0.05)
    fused = _fused_within_one_step(b.graph([y]))
    conv = next(n for n in fused.nodes if n.op_type == "QLinearConv")
    expected = np.round(np.linspace(-1, 1, 4).astype(F32) / (np.float32(0.02) * w_scale))
    np.testing.assert_allclose(fused.initializers[conv.inputs[8]], expected, atol=1)


@pytest.mark.parametrize("act", ACT_TYPES)
def test_relu_vanishes_when_the_zero_point_is_the_type_minimum(act):
    b = QDQBuilder(act)
    relu = b.node("Relu", [_conv(b, b.input([1, 3, 8, 8]))])[0]
    y = b.qdq(relu, 0.02, int(np.iinfo(act).min))
    fused = _fused_within_one_step(b.graph([y]))
    assert "Relu" not in ops(fused) and "Clip" not in ops(fused) and ops(fused)["QLinearConv"] == 1


@pytest.mark.parametrize("act", ACT_TYPES)
def test_relu_with_a_mid_range_zero_point_becomes_an_integer_clip_at_the_zero_point(act):
    b = QDQBuilder(act)
    y = b.qdq(b.node("Relu", [_conv(b, b.input([1, 3, 8, 8]))])[0], 0.02)
    fused = _fused_within_one_step(b.graph([y]), onnxruntime=True)
    clip = next(n for n in fused.nodes if n.op_type == "Clip")
    zp = 128 if act == np.uint8 else 0
    assert int(fused.initializers[clip.inputs[1]]) == zp
    assert fused.initializers[clip.inputs[1]].dtype == act


def test_clip_after_matmul_becomes_an_integer_clip_with_quantised_bounds():
    b = QDQBuilder(np.int8)
    w_dq, _ = b.weight(b.rng.standard_normal((16, 8)).astype(F32), 1)
    mm = b.node("MatMul", [b.input([2, 16], 0.05), w_dq])[0]
    lo, hi = b.const("lo", np.array(-0.5, F32)), b.const("hi", np.array(0.7, F32))
    y = b.qdq(b.node("Clip", [mm, lo, hi])[0], 0.01, 0)
    fused = _fused_within_one_step(b.graph([y]), onnxruntime=True)
    assert ops(fused)["QLinearMatMul"] == 1 and ops(fused)["Clip"] == 1
    clip = next(n for n in fused.nodes if n.op_type == "Clip")
    assert [int(fused.initializers[i]) for i in clip.inputs[1:]] == [-50, 70]


@pytest.mark.parametrize("per_column", [False, True])
def test_matmul_of_quantised_operands_becomes_qlinear_matmul(per_column):
    b = QDQBuilder(np.uint8)
    w_dq, _ = b.weight(b.rng.standard_normal((16, 8)).astype(F32), 1 if per_column else None)
    y = b.qdq(b.node("MatMul", [b.input([3, 16], 0.05), w_dq])[0], 0.1)
    assert ops(_fused_within_one_step(b.graph([y]), onnxruntime=True))["QLinearMatMul"] == 1


def test_data_movement_on_unchanged_parameters_runs_on_the_integers_exactly():
    b = QDQBuilder(np.int8)
    x = b.input([1, 4, 8, 8], 0.03, -5)
    pool = b.qdq(b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])[0], 0.03, -5)
    perm = b.qdq(b.node("Transpose", [pool], perm=[0, 2, 3, 1])[0], 0.03, -5)
    shape = b.const("shape", np.array([1, -1], np.int64))
    flat = b.qdq(b.node("Reshape", [perm, shape])[0], 0.03, -5)
    fused = _fused_within_one_step(b.graph([flat]), exact=True, onnxruntime=True)
    assert ops(fused) == {
        "QuantizeLinear": 1,
        "MaxPool": 1,
        "Transpose": 1,
        "Reshape": 1,
        "DequantizeLinear": 1,
    }


def test_pad_pads_with_the_quantised_pad_value():
    b = QDQBuilder(np.uint8)
    pads, value = (
        b.const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
        b.const("v", np.array(0.5, F32)),
    )
    y = b.qdq(b.node("Pad", [b.input([1, 2, 4, 4]), pads, value])[0], 0.02)
    fused = _fused_within_one_step(b.graph([y]), exact=True, onnxruntime=True)
    pad = next(n for n in fused.nodes if n.op_type == "Pad")
    assert int(fused.initializers[pad.inputs[2]]) == 128 + 25


def test_data_movement_that_changes_the_parameters_stays_float():
    b = QDQBuilder(np.int8)
    y = b.qdq(b.node("MaxPool", [b.input([1, 4, 8, 8], 0.03)], kernel_shape=[2, 2])[0], 0.05)
    assert ops(qdq_to_qoperator(b.graph([y])))["MaxPool"] == 1
    assert ops(qdq_to_qoperator(b.graph([y])))["DequantizeLinear"] == 2


def test_integer_maxpool_needs_opset_12():
    b = QDQBuilder(np.int8)
    y = b.qdq(b.node("MaxPool", [b.input([1, 4, 8, 8], 0.03)], kernel_shape=[2, 2])[0], 0.03)
    assert ops(qdq_to_qoperator(b.graph([y], opset=11)))["DequantizeLinear"] == 2
    assert ops(qdq_to_qoperator(b.graph([y], opset=12)))["DequantizeLinear"] == 1


@pytest.mark.parametrize("zp, left", [(-128, set()), (0, {"Clip"})])
def test_a_quantised_relu_is_an_integer_clip_or_nothing(zp, left):
    b = QDQBuilder(np.int8)
    x = b.input([2, 8], 0.03, zp)
    y = b.qdq(b.node("Relu", [x])[0], 0.03, zp)
    fused = _fused_within_one_step(b.graph([y]), exact=True)
    assert set(ops(fused)) - {"QuantizeLinear", "DequantizeLinear"} == left


def test_a_float_result_that_is_also_read_elsewhere_stays_float():
    b = QDQBuilder(np.uint8)
    conv = _conv(b, b.input([1, 3, 8, 8]))
    y = b.qdq(conv, 0.05)
    fused = qdq_to_qoperator(b.graph([y, conv]))
    assert ops(fused)["Conv"] == 1 and "QLinearConv" not in ops(fused)


@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_binary_ops_become_com_microsoft_qlinear_ops(op):
    b = QDQBuilder(np.uint8)
    y = b.qdq(b.node(op, [b.input([2, 8], 0.03), b.input([2, 8], 0.05, 100)])[0], 0.07, 120)
    fused = _fused_within_one_step(b.graph([y]), onnxruntime=True)
    assert ops(fused)[f"com.microsoft::QLinear{op}"] == 1
    assert fused.opsets["com.microsoft"] == 1


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
        ("GlobalAveragePool", {}),
        ("Sigmoid", {}),
        ("LeakyRelu", {"alpha": 0.2}),
    ],
)
@pytest.mark.parametrize("act", ACT_TYPES)
def test_unary_ops_become_com_microsoft_qlinear_ops(op, attrs, act):
    b = QDQBuilder(act)
    y = b.qdq(b.node(op, [b.input([1, 3, 6, 6], 0.04)], **attrs)[0], 0.01)
    fused = _fused_within_one_step(b.graph([y]), onnxruntime=True)
    assert ops(fused)[f"com.microsoft::QLinear{op}"] == 1


def test_gemm_becomes_qgemm_with_beta_folded_into_the_int32_bias():
    b = QDQBuilder(np.int8)
    w_dq, _ = b.weight(b.rng.standard_normal((5, 16)).astype(F32), 0)
    c = b.const("c", b.rng.standard_normal(5).astype(F32))
    gemm = b.node("Gemm", [b.input([3, 16], 0.05), w_dq, c], transB=1, beta=0.5)[0]
    fused = _fused_within_one_step(b.graph([b.qdq(gemm, 0.1)]), onnxruntime=True)
    assert ops(fused)["com.microsoft::QGemm"] == 1


def test_concat_of_equal_parameters_is_a_plain_integer_concat_else_qlinear_concat():
    b = QDQBuilder(np.uint8)
    same = b.node("Concat", [b.input([1, 2, 4], 0.03), b.input([1, 3, 4], 0.03)], axis=1)[0]
    mixed = b.node("Concat", [b.input([1, 2, 4], 0.03), b.input([1, 3, 4], 0.06)], axis=1)[0]
    outputs = [b.qdq(same, 0.03), b.qdq(mixed, 0.06)]
    fused = _fused_within_one_step(b.graph(outputs), onnxruntime=True)
    assert ops(fused)["Concat"] == 1 and ops(fused)["com.microsoft::QLinearConcat"] == 1


def test_level_0_keeps_the_qdq_graph_and_level_2_rewrites_it():
    b = QDQBuilder(np.uint8)
    graph = b.graph([b.qdq(_conv(b, b.input([1, 3, 8, 8])), 0.05)])
    kept, report = optimize(graph, level=0)
    assert ops(kept) == ops(graph) and not report.passes
    rewritten, report = optimize(graph, level=2)
    assert report.changed("qdq_to_qoperator") == 1 and "QLinearConv" in ops(rewritten)
    assert "within 1 step" in report.format()


def test_the_input_graph_is_left_as_it_was():
    b = QDQBuilder(np.uint8)
    graph = b.graph([b.qdq(_conv(b, b.input([1, 3, 8, 8])), 0.05)])
    before = ops(graph)
    qdq_to_qoperator(graph)
    assert ops(graph) == before


@settings(max_examples=40, deadline=None)
@given(
    act=st.sampled_from(ACT_TYPES),
    x_scale=st.floats(1e-3, 0.2),
    y_scale=st.floats(1e-3, 0.5),
    zps=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    per_channel=st.booleans(),
    activation=st.sampled_from([None, "Relu", "Clip"]),
    seed=st.integers(0, 2**16),
)
def test_conv_and_its_activation_stay_within_one_step_for_any_parameters(
    act, x_scale, y_scale, zps, per_channel, activation, seed
):
    b = QDQBuilder(act, seed)
    low, high = np.iinfo(act).min, np.iinfo(act).max
    x_zp, y_zp = (int(low + f * (high - low)) for f in zps)
    x = b.input([2, 3, 6, 6], x_scale, x_zp)
    w_dq, w_scale = b.weight(
        b.rng.standard_normal((4, 3, 3, 3)).astype(F32), 0 if per_channel else None
    )
    bias = b.bias(b.rng.standard_normal(4).astype(F32), np.float32(x_scale) * w_scale)
    y = b.node("Conv", [x, w_dq, bias], pads=[1, 1, 1, 1])[0]
    if activation == "Relu":
        y = b.node("Relu", [y])[0]
    elif activation == "Clip":
        lo, hi = b.const("lo", np.array(-0.3, F32)), b.const("hi", np.array(0.4, F32))
        y = b.node("Clip", [y, lo, hi])[0]
    fused = _fused_within_one_step(b.graph([b.qdq(y, y_scale, y_zp)]), (seed,), onnxruntime=True)
    assert "Conv" not in ops(fused) and "Relu" not in ops(fused)
