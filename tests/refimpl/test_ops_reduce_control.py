"""Reference semantics of reductions, softmax, losses, control flow, sequences and recurrent nets
beyond the ONNX node suite: older opsets, edge cases, errors, and cross-checks with onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper

import gossamer
from gossamer import NodeExecutionError

RNG = np.random.default_rng(0)
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def _info(name, value):
    if isinstance(value, list):
        elem = helper.np_dtype_to_tensor_dtype(value[0].dtype) if value else F
        return helper.make_tensor_sequence_value_info(name, elem, None)
    return helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape
    )


def _model(op, feeds, attrs=None, opset=17, n_out=1):
    node = helper.make_node(op, list(feeds), [f"y{i}" for i in range(n_out)], **(attrs or {}))
    ins = [_info(n, v) for n, v in feeds.items() if n]
    outs = [helper.make_empty_tensor_value_info(f"y{i}") for i in range(n_out)]
    return _serialize(helper.make_graph([node], "t", ins, outs), opset)


def _serialize(graph, opset):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def run(op, feeds, attrs=None, opset=17, n_out=1):
    """Runs one node on Gossamer; `feeds` maps input names in ONNX order ('' = absent) to values."""
    out = gossamer.load(_model(op, feeds, attrs, opset, n_out)).run(
        None, {k: v for k, v in feeds.items() if k}
    )
    return out if n_out > 1 else out[0]


def run_ort(op, feeds, attrs=None, opset=17, n_out=1):
    return _ort(_model(op, feeds, attrs, opset, n_out), {k: v for k, v in feeds.items() if k})


def _ort(model, feeds):
    sess = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _both(model, feeds):
    return gossamer.load(model).run(None, feeds), _ort(model, feeds)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# ---- Reduce* ----
def test_reduce_sum_before_13_takes_axes_from_the_attribute():
    x = randn(2, 3, 4)
    y = run("ReduceSum", {"x": x}, {"axes": [0, -1], "keepdims": 0}, opset=11)
    np.testing.assert_allclose(y, x.sum(axis=(0, 2)), rtol=1e-5)


def test_reduce_mean_before_18_matches_onnxruntime():
    x = randn(3, 4, 5)
    attrs = {"axes": [1], "keepdims": 1}
    np.testing.assert_allclose(
        run("ReduceMean", {"x": x}, attrs, opset=13), run_ort("ReduceMean", {"x": x}, attrs, 13)[0],
        rtol=1e-6,
    )  # fmt: skip


def test_reduce_mean_of_integers_truncates_toward_zero():
    x = np.array([[-3, -4], [3, 4]], dtype=np.int32)
    y = run("ReduceMean", {"x": x, "axes": np.array([1])}, {"keepdims": 0}, opset=18)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, [-3, 3])


def test_reduce_sum_of_int32_wraps_in_int32():
    x = np.array([2**31 - 1, 1], dtype=np.int32)
    y = run("ReduceSum", {"x": x}, {"keepdims": 0}, opset=13)
    assert y.dtype == np.int32 and y == np.int32(-(2**31))


def test_reduce_max_of_an_empty_integer_set_is_the_smallest_integer():
    x = np.zeros((2, 0), dtype=np.int32)
    y = run("ReduceMax", {"x": x, "axes": np.array([1])}, {"keepdims": 0}, opset=18)
    np.testing.assert_array_equal(y, np.full(2, np.iinfo(np.int32).min, np.int32))


def test_reduce_min_of_an_empty_float_set_is_plus_infinity():
    y = run("ReduceMin", {"x": np.zeros((0, 3), np.float32)}, {"axes": [0]}, opset=13)
    assert y.shape == (1, 3) and np.all(y == np.inf)


def test_reduce_sum_square_with_noop_and_no_axes_squares_elementwise():
    x = randn(2, 3)
    y = run("ReduceSumSquare", {"x": x}, {"noop_with_empty_axes": 1}, opset=18)
    np.testing.assert_allclose(y, x * x, rtol=1e-6)


def test_reduce_sum_with_noop_and_empty_axes_input_is_identity():
    x = randn(2, 3)
    y = run("ReduceSum", {"x": x, "axes": np.zeros(0, np.int64)}, {"noop_with_empty_axes": 1}, 13)
    np.testing.assert_array_equal(y, x)


def test_reduce_log_sum_exp_of_a_minus_infinity_slice_is_minus_infinity_not_nan():
    x = np.array([[-np.inf, -np.inf], [0.0, 1000.0]], dtype=np.float32)
    y = run("ReduceLogSumExp", {"x": x}, {"axes": [1], "keepdims": 0}, opset=13)
    assert y[0] == -np.inf
    np.testing.assert_allclose(y[1], 1000.0)


def test_reduce_of_a_0d_tensor_keeps_it_0d():
    y = run("ReduceProd", {"x": np.array(3.0, np.float32)}, {"keepdims": 1}, opset=18)
    assert y.shape == () and y == 3.0


def test_reduce_l2_of_float16_stays_float16():
    x = np.array([3.0, 4.0], np.float16)
    y = run("ReduceL2", {"x": x}, {"keepdims": 0}, opset=13)
    assert y.dtype == np.float16 and y == 5.0


def test_reduce_with_a_repeated_axis_is_rejected():
    with pytest.raises(NodeExecutionError, match="same axis twice"):
        run("ReduceSum", {"x": randn(2, 3), "axes": np.array([1, -1])}, opset=13)


def test_reduce_with_an_out_of_range_axis_is_rejected():
    with pytest.raises(NodeExecutionError, match="out of range"):
        run("ReduceMax", {"x": randn(2, 3)}, {"axes": [2]}, opset=11)


# ---- ArgMax / ArgMin ----
def test_argmin_select_last_index_matches_onnxruntime_on_ties():
    x = np.array([[1, 0, 0, 2], [5, 5, 5, 5]], dtype=np.float32)
    attrs = {"axis": -1, "keepdims": 0, "select_last_index": 1}
    y = run("ArgMin", {"x": x}, attrs, opset=13)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, run_ort("ArgMin", {"x": x}, attrs, 13)[0])


def test_argmax_of_integers_picks_the_first_maximum():
    x = np.array([[3, 7, 7]], dtype=np.int32)
    np.testing.assert_array_equal(run("ArgMax", {"x": x}, {"axis": 1}, opset=11), [[1]])


def test_argmax_along_an_empty_axis_is_rejected():
    with pytest.raises(NodeExecutionError, match="size 0"):
        run("ArgMax", {"x": np.zeros((2, 0), np.float32)}, {"axis": 1}, opset=13)


# ---- Softmax / LogSoftmax / Hardmax ----
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_before_13_normalises_over_the_flattened_trailing_axes(op):
    x = randn(2, 3, 4)
    y = run(op, {"x": x}, {"axis": 1}, opset=11)
    flat = x.reshape(2, 12)
    e = np.exp(flat - flat.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    want = (np.log(want) if op == "LogSoftmax" else want).reshape(2, 3, 4)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, run_ort(op, {"x": x}, {"axis": 1}, 11)[0], rtol=1e-5, atol=1e-6)


def test_softmax_before_13_defaults_to_axis_1():
    x = randn(2, 3, 4)
    y = run("Softmax", {"x": x}, opset=9)
    np.testing.assert_allclose(y.reshape(2, 12).sum(axis=1), [1.0, 1.0], rtol=1e-5)


def test_hardmax_before_13_marks_one_element_per_flattened_row():
    x = randn(2, 3, 4)
    y = run("Hardmax", {"x": x}, {"axis": 1}, opset=11)
    flat = y.reshape(2, 12)
    np.testing.assert_array_equal(flat.sum(axis=1), [1.0, 1.0])
    np.testing.assert_array_equal(flat.argmax(axis=1), x.reshape(2, 12).argmax(axis=1))


def test_hardmax_13_marks_the_first_of_tied_maxima():
    y = run("Hardmax", {"x": np.array([[2.0, 5.0, 5.0]], np.float32)}, opset=13)
    np.testing.assert_array_equal(y, [[0.0, 1.0, 0.0]])


def test_softmax_of_float16_stays_float16():
    y = run("Softmax", {"x": np.array([0.0, 0.0], np.float16)}, opset=13)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, [0.5, 0.5])


def test_softmax_with_an_out_of_range_axis_is_rejected():
    with pytest.raises(NodeExecutionError, match="out of range"):
        run("Softmax", {"x": randn(2, 3)}, {"axis": 2}, opset=13)


# ---- NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss ----
def test_softmax_cross_entropy_with_ignore_index_matches_onnxruntime():
    scores, labels = randn(3, 5, 2), np.array([[0, 4], [2, -1], [1, 3]], np.int64)
    feeds = {"s": scores, "l": labels, "w": np.abs(randn(5))}
    attrs = {"ignore_index": -1, "reduction": "mean"}
    got = run("SoftmaxCrossEntropyLoss", feeds, attrs, opset=13, n_out=2)
    want = run_ort("SoftmaxCrossEntropyLoss", feeds, attrs, opset=13, n_out=2)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_nll_loss_with_an_unknown_reduction_is_rejected():
    feeds = {"x": randn(2, 3), "t": np.array([0, 1], np.int64)}
    with pytest.raises(NodeExecutionError, match="reduction"):
        run("NegativeLogLikelihoodLoss", feeds, {"reduction": "avg"}, opset=13)


def test_nll_loss_with_a_target_outside_the_classes_is_rejected():
    feeds = {"x": randn(2, 3), "t": np.array([0, 3], np.int64)}
    with pytest.raises(NodeExecutionError, match="outside"):
        run("NegativeLogLikelihoodLoss", feeds, opset=13)


# ---- If / Loop / Scan ----
def _const_body(name, value, out="o"):
    node = helper.make_node("Constant", [], [out], value=helper.make_tensor("c", F, [1], [value]))
    return helper.make_graph([node], name, [], [helper.make_tensor_value_info(out, F, [1])])


def test_if_runs_the_else_branch_when_cond_is_false():
    node = helper.make_node(
        "If", ["c"], ["y"], then_branch=_const_body("t", 1.0), else_branch=_const_body("e", 2.0)
    )
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", F, [1])],
    )  # fmt: skip
    (y,) = gossamer.load(_serialize(graph, 11)).run(None, {"c": np.array(False)})
    np.testing.assert_array_equal(y, [2.0])


def _loop_model(with_m=True, with_cond=True, body_cond="Not"):
    """v += 1 per iteration, scan output v; body cond = Not(cond_in) (or a constant False)."""
    nodes = [
        helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        helper.make_node("Identity", ["v_out"], ["scan"]),
        helper.make_node("Not", ["cond_in"], ["cond_out"])
        if body_cond == "Not"
        else helper.make_node(
            "Constant", [], ["cond_out"], value=helper.make_tensor("f", 9, [], [0])
        ),
    ]
    body = helper.make_graph(
        nodes, "body",
        [helper.make_tensor_value_info("i", I64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", F, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", F, [2]),
         helper.make_tensor_value_info("scan", F, [2])],
        initializer=[helper.make_tensor("one", F, [], [1.0])],
    )  # fmt: skip
    ins = [helper.make_tensor_value_info("v0", F, [2])]
    if with_m:
        ins.append(helper.make_tensor_value_info("m", I64, []))
    if with_cond:
        ins.append(helper.make_tensor_value_info("c", TensorProto.BOOL, []))
    node = helper.make_node(
        "Loop", ["m" if with_m else "", "c" if with_cond else "", "v0"], ["v", "s"], body=body
    )
    outs = [helper.make_tensor_value_info("v", F, [2]), helper.make_tensor_value_info("s", F, None)]
    return _serialize(helper.make_graph([node], "g", ins, outs), 13)


def test_loop_with_zero_trips_returns_the_initial_values_and_an_empty_scan_output():
    v0 = np.array([1.0, 2.0], np.float32)
    v, s = gossamer.load(_loop_model()).run(None, {"v0": v0, "m": np.array(0), "c": np.array(True)})
    np.testing.assert_array_equal(v, v0)
    assert s.shape == (0, 2) and s.dtype == np.float32


def test_loop_with_a_trip_count_and_no_cond_ignores_the_body_cond():
    # The ONNX spec's "for loop" case; onnxruntime 1.x stops on the body's cond output instead.
    feeds = {"v0": np.zeros(2, np.float32), "m": np.array(3)}
    v, s = gossamer.load(_loop_model(with_cond=False, body_cond="False")).run(None, feeds)
    np.testing.assert_array_equal(v, [3.0, 3.0])
    np.testing.assert_array_equal(s, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])


def test_loop_without_a_trip_count_stops_when_the_body_cond_turns_false():
    feeds = {"v0": np.zeros(2, np.float32), "c": np.array(True)}
    v, s = gossamer.load(_loop_model(with_m=False)).run(None, feeds)
    np.testing.assert_array_equal(v, [1.0, 1.0])  # cond_out = Not(True) after the first pass
    assert s.shape == (1, 2)


def _vi(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def _scan_body():
    """state += x_t; y_t = state (a running sum)."""
    return helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["y_t"])],
        "body",
        [_vi("s_in", [2]), _vi("x_t", [2])],
        [_vi("s_out", [2]), _vi("y_t", [2])],
    )  # fmt: skip


def test_scan_9_with_reversed_input_and_output_axis_1_matches_onnxruntime():
    node = helper.make_node(
        "Scan", ["s0", "x"], ["s", "y"], body=_scan_body(), num_scan_inputs=1,
        scan_input_axes=[1], scan_input_directions=[1], scan_output_axes=[-1],
    )  # fmt: skip
    graph = helper.make_graph(
        [node], "g",
        [_vi("s0", [2]), _vi("x", [2, 4])],
        [helper.make_tensor_value_info("s", F, None), helper.make_tensor_value_info("y", F, None)],
    )  # fmt: skip
    feeds = {"s0": randn(2), "x": randn(2, 4)}
    got, want = _both(_serialize(graph, 11), feeds)
    assert got[1].shape == (2, 4)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_scan_8_with_sequence_lens_and_reverse_matches_onnxruntime():
    node = helper.make_node(
        "Scan", ["lens", "s0", "x"], ["s", "y"], body=_scan_body(), num_scan_inputs=1,
        directions=[1],
    )  # fmt: skip
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("lens", I64, [2]),
         helper.make_tensor_value_info("s0", F, [2, 2]),
         helper.make_tensor_value_info("x", F, [2, 3, 2])],
        [helper.make_tensor_value_info("s", F, None), helper.make_tensor_value_info("y", F, None)],
    )  # fmt: skip
    feeds = {"lens": np.array([3, 2], np.int64), "s0": randn(2, 2), "x": randn(2, 3, 2)}
    got, want = _both(_serialize(graph, 8), feeds)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


# ---- sequences ----
def test_split_to_sequence_with_a_scalar_split_leaves_a_shorter_last_chunk():
    seq = run("SplitToSequence", {"x": randn(5, 2), "split": np.array(2)}, opset=11)
    assert [s.shape for s in seq] == [(2, 2), (2, 2), (1, 2)]


def test_split_to_sequence_without_split_and_keepdims_0_squeezes_the_axis():
    seq = run("SplitToSequence", {"x": randn(2, 3)}, {"axis": -1, "keepdims": 0}, opset=11)
    assert [s.shape for s in seq] == [(2,), (2,), (2,)]


def test_concat_from_sequence_with_new_axis_stacks_at_a_negative_axis():
    seq = [randn(2, 3), randn(2, 3)]
    y = run("ConcatFromSequence", {"s": seq}, {"axis": -1, "new_axis": 1}, opset=11)
    np.testing.assert_array_equal(y, np.stack(seq, axis=-1))


def test_sequence_insert_at_a_negative_position_counts_from_the_back():
    seq = [np.array([0.0], np.float32), np.array([1.0], np.float32)]
    feeds = {"s": seq, "t": np.array([9.0], np.float32), "p": np.array(-1)}
    out = run("SequenceInsert", feeds, opset=11)
    assert [float(a[0]) for a in out] == [0.0, 9.0, 1.0]
    assert [float(a[0]) for a in seq] == [0.0, 1.0]  # the input sequence is not mutated


def test_sequence_erase_without_position_drops_the_last_element():
    seq = [np.array([0.0], np.float32), np.array([1.0], np.float32)]
    assert [float(a[0]) for a in run("SequenceErase", {"s": seq}, opset=11)] == [0.0]


def test_sequence_at_out_of_range_is_rejected():
    with pytest.raises(NodeExecutionError, match="out of range"):
        run("SequenceAt", {"s": [randn(1)], "p": np.array(1)}, opset=11)


# ---- RNN / GRU / LSTM ----
def _rnn_feeds(gates, dirs=1, seq=4, batch=3, inp=2, hidden=3, lens=(4, 2, 3), layout=0):
    x_shape = (batch, seq, inp) if layout else (seq, batch, inp)
    h_shape = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    return {
        "x": randn(*x_shape), "w": randn(dirs, gates * hidden, inp),
        "r": randn(dirs, gates * hidden, hidden), "b": randn(dirs, 2 * gates * hidden),
        "lens": np.array(lens, np.int32), "h0": randn(*h_shape),
    }  # fmt: skip


def _check_rnn(op, feeds, attrs, opset=14, n_out=2):
    got = run(op, feeds, attrs, opset, n_out)
    want = run_ort(op, feeds, attrs, opset, n_out)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_lstm_bidirectional_with_lengths_initial_states_and_peepholes_matches_onnxruntime():
    feeds = _rnn_feeds(4, dirs=2)
    feeds |= {"c0": randn(2, 3, 3), "p": randn(2, 9)}
    _check_rnn("LSTM", feeds, {"hidden_size": 3, "direction": "bidirectional"}, n_out=3)


def test_lstm_with_clip_and_parametrised_activations_matches_onnxruntime():
    attrs = {
        "hidden_size": 3, "clip": 0.5, "activations": ["HardSigmoid", "LeakyRelu", "Tanh"],
        "activation_alpha": [0.3, 0.2], "activation_beta": [0.4],
    }  # fmt: skip
    _check_rnn("LSTM", _rnn_feeds(4), attrs, opset=7, n_out=3)


def test_gru_reverse_with_linear_before_reset_matches_onnxruntime():
    attrs = {"hidden_size": 3, "direction": "reverse", "linear_before_reset": 1}
    _check_rnn("GRU", _rnn_feeds(3), attrs)


def test_gru_without_linear_before_reset_bidirectional_matches_onnxruntime():
    _check_rnn("GRU", _rnn_feeds(3, dirs=2), {"hidden_size": 3, "direction": "bidirectional"})


def test_rnn_batch_major_layout_equals_the_time_major_layout_transposed():
    feeds = _rnn_feeds(1, dirs=2)
    attrs = {"hidden_size": 3, "direction": "bidirectional"}
    y, y_h = run("RNN", feeds, attrs, 14, 2)
    batch_major = feeds | {"x": feeds["x"].swapaxes(0, 1), "h0": feeds["h0"].swapaxes(0, 1)}
    y1, y_h1 = run("RNN", batch_major, attrs | {"layout": 1}, 14, 2)
    np.testing.assert_allclose(y1, y.transpose(2, 0, 1, 3), rtol=1e-6)
    np.testing.assert_allclose(y_h1, y_h.swapaxes(0, 1), rtol=1e-6)


def test_lstm_batch_major_layout_transposes_every_state_output():
    feeds = _rnn_feeds(4, layout=1) | {"c0": randn(3, 1, 3)}
    y, y_h, y_c = run("LSTM", feeds, {"hidden_size": 3, "layout": 1}, 14, 3)
    assert (y.shape, y_h.shape, y_c.shape) == ((3, 4, 1, 3), (3, 1, 3), (3, 1, 3))
    np.testing.assert_array_equal(y_h[0, 0], y[0, -1, 0])  # the first item runs all 4 steps


def test_rnn_writes_zeros_past_each_sequence_length():
    y = run("RNN", _rnn_feeds(1), {"hidden_size": 3}, opset=14)
    assert np.all(y[2:, 0, 1] == 0) and np.all(y[:2, 0, 1] != 0)


def test_rnn_with_an_unknown_activation_is_rejected():
    with pytest.raises(NodeExecutionError, match="unknown activation"):
        run("RNN", _rnn_feeds(1), {"hidden_size": 3, "activations": ["Swish"]}, opset=14)


def test_rnn_with_a_bad_direction_is_rejected():
    with pytest.raises(NodeExecutionError, match="direction"):
        run("RNN", _rnn_feeds(1), {"hidden_size": 3, "direction": "both"}, opset=14)
