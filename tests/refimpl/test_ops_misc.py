"""Signal, string, ai.onnx.ml, training and random reference ops: what the ONNX node suite misses.

Each test builds a one-node ONNX model and runs it through `gossamer.load`; where onnxruntime
implements the case, it is the yardstick.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from onnx import TensorProto
from onnx import helper as oh

import gossamer
from gossamer import NodeExecutionError

ort = pytest.importorskip("onnxruntime")

ML = ("ai.onnx.ml", 4)
TRAINING = ("ai.onnx.preview.training", 1)


def _elem(value: np.ndarray) -> int:
    return TensorProto.STRING if value.dtype == object else oh.np_dtype_to_tensor_dtype(value.dtype)


def _model(node, feeds: dict, outputs: dict, opsets) -> bytes:
    graph = oh.make_graph(
        [node],
        "g",
        [oh.make_tensor_value_info(n, _elem(v), None) for n, v in feeds.items()],
        [oh.make_tensor_value_info(n, t, None) for n, t in outputs.items()],
    )
    ops = [oh.make_opsetid(d, v) for d, v in opsets]
    return oh.make_model(graph, opset_imports=ops, ir_version=9).SerializeToString()


def run(node, feeds: dict, outputs: dict, opsets=(("", 20),)) -> list:
    return gossamer.load(_model(node, feeds, outputs, opsets)).run(None, feeds)


def run_ort(node, feeds: dict, outputs: dict, opsets=(("", 20),)) -> list:
    model = _model(node, feeds, outputs, opsets)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def both(node, feeds: dict, outputs: dict, opsets=(("", 20),)) -> tuple[list, list]:
    return run(node, feeds, outputs, opsets), run_ort(node, feeds, outputs, opsets)


def node(op: str, inputs, outputs=("y",), domain: str = "", **attrs):
    return oh.make_node(op, list(inputs), list(outputs), domain=domain, **attrs)


def strings(*values) -> np.ndarray:
    return np.array(values, dtype=object)


RNG = np.random.default_rng(7)


# ---- DFT / STFT ---------------------------------------------------------------------------------
def test_dft_17_dft_length_zero_pads_the_signal_like_onnxruntime():
    x = RNG.standard_normal((2, 5, 1)).astype(np.float32)
    feeds = {"x": x, "n": np.array(8, np.int64)}
    ours, theirs = both(node("DFT", ["x", "n"]), feeds, {"y": TensorProto.FLOAT}, [("", 17)])
    assert ours[0].shape == (2, 8, 2)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-5)


def test_dft_20_negative_axis_input_counts_from_the_back():
    x = RNG.standard_normal((2, 3, 4, 2)).astype(np.float32)
    feeds = {"x": x, "axis": np.array(-3, np.int64)}
    (y,) = run(node("DFT", ["x", "", "axis"]), feeds, {"y": TensorProto.FLOAT})
    expected = np.fft.fft(x[..., 0] + 1j * x[..., 1], axis=1)
    np.testing.assert_allclose(y[..., 0] + 1j * y[..., 1], expected, rtol=1e-5, atol=1e-5)


def test_dft_rejects_the_last_axis_that_holds_real_and_imaginary_parts():
    x = np.zeros((2, 4, 2), np.float32)
    with pytest.raises(NodeExecutionError, match="axis"):
        run(node("DFT", ["x"], axis=2), {"x": x}, {"y": TensorProto.FLOAT}, [("", 17)])


def test_dft_keeps_float64_and_inverts_itself():
    x = RNG.standard_normal((3, 6, 2))
    forward = node("DFT", ["x"], ["f"], axis=1)
    (f,) = run(forward, {"x": x}, {"f": TensorProto.DOUBLE}, [("", 17)])
    inverse = node("DFT", ["f"], axis=1, inverse=1)
    (back,) = run(inverse, {"f": f}, {"y": TensorProto.DOUBLE}, [("", 17)])
    assert f.dtype == np.float64
    np.testing.assert_allclose(back, x, atol=1e-12)


def test_dft_irfft_with_an_odd_dft_length_gives_a_real_signal_of_that_length():
    signal = RNG.standard_normal(9)
    half = np.fft.rfft(signal)
    x = np.stack([half.real, half.imag], -1)[None].astype(np.float64)
    feeds = {"x": x, "n": np.array(9, np.int64)}
    (y,) = run(node("DFT", ["x", "n"], axis=1, inverse=1, onesided=1), feeds, {"y": 11}, [("", 17)])
    assert y.shape == (1, 9, 1)
    np.testing.assert_allclose(y[0, :, 0], signal, atol=1e-12)


def test_stft_of_a_complex_signal_with_window_and_frame_length_two_sided():
    sig = RNG.standard_normal((2, 20, 2)).astype(np.float32)
    window = np.hanning(8).astype(np.float32)
    feeds = {"s": sig, "step": np.array(4, np.int64), "w": window, "n": np.array(8, np.int64)}
    (y,) = run(node("STFT", ["s", "step", "w", "n"], onesided=0), feeds, {"y": 1}, [("", 17)])
    z = sig[..., 0] + 1j * sig[..., 1]
    frames = np.stack([z[:, i : i + 8] * window for i in range(0, 13, 4)], axis=1)
    expected = np.fft.fft(frames, axis=-1)
    assert y.shape == (2, 4, 8, 2)
    np.testing.assert_allclose(y[..., 0] + 1j * y[..., 1], expected, rtol=1e-4, atol=1e-4)


def test_stft_rejects_a_frame_longer_than_the_signal():
    feeds = {"s": np.zeros((1, 4, 1), np.float32), "step": np.array(1, np.int64)}
    feeds["n"] = np.array(8, np.int64)
    with pytest.raises(NodeExecutionError, match="frame_length"):
        run(node("STFT", ["s", "step", "", "n"]), feeds, {"y": 1}, [("", 17)])


# ---- windows and mel ----------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows_in_float64_match_onnxruntime(op, periodic):
    feeds = {"n": np.array(11, np.int64)}
    n = node(op, ["n"], periodic=periodic, output_datatype=TensorProto.DOUBLE)
    ours, theirs = both(n, feeds, {"y": TensorProto.DOUBLE}, [("", 17)])
    assert ours[0].dtype == np.float64
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-7)


def test_window_with_integer_output_datatype_truncates_to_that_type():
    n = node("HannWindow", ["n"], output_datatype=TensorProto.INT32)
    (y,) = run(n, {"n": np.array(4, np.int32)}, {"y": TensorProto.INT32}, [("", 17)])
    assert y.dtype == np.int32 and y.tolist() == [0, 0, 1, 0]


def test_window_rejects_a_string_output_datatype():
    n = node("HannWindow", ["n"], output_datatype=TensorProto.STRING)
    with pytest.raises(NodeExecutionError, match="output_datatype"):
        run(n, {"n": np.array(4, np.int32)}, {"y": TensorProto.STRING}, [("", 17)])


def test_mel_weight_matrix_matches_onnxruntime_for_a_speech_setup():
    feeds = {
        "bins": np.array(10, np.int64), "n": np.array(64, np.int64),
        "rate": np.array(16000, np.int64), "lo": np.array(20.0, np.float32),
        "hi": np.array(8000.0, np.float32),
    }  # fmt: skip
    n = node("MelWeightMatrix", list(feeds), output_datatype=TensorProto.DOUBLE)
    ours, theirs = both(n, feeds, {"y": TensorProto.DOUBLE}, [("", 17)])
    assert ours[0].shape == (33, 10)
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)


# ---- strings ------------------------------------------------------------------------------------
def test_string_normalizer_drops_stopwords_case_insensitively_and_lowercases():
    x = strings("The", "CAT", "the", "Dog")
    n = node("StringNormalizer", ["x"], stopwords=["the"], case_change_action="LOWER")
    # (onnxruntime's StringNormalizer needs an en_US locale the test machines may lack)
    (y,) = run(n, {"x": x}, {"y": TensorProto.STRING}, [("", 10)])
    assert y.tolist() == ["cat", "dog"]


def test_string_normalizer_rejects_more_than_one_row():
    with pytest.raises(NodeExecutionError, match=r"\[C\] or \[1, C\]"):
        run(node("StringNormalizer", ["x"]), {"x": strings(["a"], ["b"])}, {"y": 8}, [("", 10)])


def test_string_split_with_maxsplit_zero_keeps_each_string_whole():
    x = strings(["a b c", "b"], ["x", "y z"])
    n = node("StringSplit", ["x"], ["y", "z"], maxsplit=0, delimiter=" ")
    ours, theirs = both(n, {"x": x}, {"y": TensorProto.STRING, "z": TensorProto.INT64})
    assert ours[0].tolist() == theirs[0].tolist() == [[["a b c"], ["b"]], [["x"], ["y z"]]]
    assert ours[1].tolist() == theirs[1].tolist() == [[1, 1], [1, 1]]


def test_string_split_of_an_empty_string_has_no_substrings():
    x = strings("", "a--b")
    n = node("StringSplit", ["x"], ["y", "z"], delimiter="-")
    ours, theirs = both(n, {"x": x}, {"y": TensorProto.STRING, "z": TensorProto.INT64})
    assert ours[1].tolist() == theirs[1].tolist() == [0, 3]
    assert ours[0].tolist() == theirs[0].tolist() == [["", "", ""], ["a", "", "b"]]


def test_string_split_on_whitespace_strips_the_remainder_after_maxsplit():
    x = strings("  a  b c  ", "   ")
    n = node("StringSplit", ["x"], ["y", "z"], maxsplit=1)
    ours, theirs = both(n, {"x": x}, {"y": TensorProto.STRING, "z": TensorProto.INT64})
    assert ours[0].tolist() == theirs[0].tolist() == [["a", "b c"], ["", ""]]
    assert ours[1].tolist() == theirs[1].tolist() == [2, 0]


def test_string_concat_of_empty_tensors_is_empty():
    feeds = {"a": strings().reshape(0, 2), "b": strings("x", "y")}
    (z,) = run(node("StringConcat", ["a", "b"]), feeds, {"y": TensorProto.STRING})
    assert z.shape == (0, 2) and z.dtype == object


def test_regex_full_match_word_class_is_ascii_only_as_in_re2():
    x = strings("hello", "héllo", "hello!")
    n = node("RegexFullMatch", ["x"], pattern=r"\w+")
    ours, theirs = both(n, {"x": x}, {"y": TensorProto.BOOL})
    assert ours[0].tolist() == theirs[0].tolist() == [True, False, False]


def test_regex_full_match_rejects_an_invalid_pattern():
    with pytest.raises(NodeExecutionError, match="not a valid regular expression"):
        run(node("RegexFullMatch", ["x"], pattern="(a"), {"x": strings("a")}, {"y": 9})


# ---- TfIdfVectorizer ----------------------------------------------------------------------------
def test_tfidf_on_strings_in_tfidf_mode_weights_the_counts():
    x = strings(["a", "b", "a", "c"], ["b", "b", "c", "a"])
    attrs = dict(mode="TFIDF", min_gram_length=1, max_gram_length=2, max_skip_count=1,
                 ngram_counts=[0, 3], ngram_indexes=[4, 3, 2, 1, 0],
                 pool_strings=["a", "b", "c", "a", "b", "b", "c"],
                 weights=[0.5, 2.0, 1.0, 3.0, 0.25])  # fmt: skip
    ours, theirs = both(node("TfIdfVectorizer", ["x"], **attrs), {"x": x}, {"y": 1}, [("", 9)])
    np.testing.assert_allclose(ours[0], theirs[0])


def test_tfidf_idf_mode_counts_each_ngram_at_most_once():
    x = np.array([5, 5, 5, 6, 5, 6], np.int64)
    attrs = dict(mode="IDF", min_gram_length=1, max_gram_length=2, max_skip_count=0,
                 ngram_counts=[0, 2], ngram_indexes=[0, 1, 2], pool_int64s=[5, 6, 5, 6],
                 weights=[2.0, 3.0, 4.0])  # fmt: skip
    ours, theirs = both(node("TfIdfVectorizer", ["x"], **attrs), {"x": x}, {"y": 1}, [("", 9)])
    assert ours[0].tolist() == theirs[0].tolist() == [2.0, 3.0, 4.0]


def test_tfidf_of_an_empty_row_is_all_zeros():
    attrs = dict(mode="TF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
                 ngram_counts=[0], ngram_indexes=[0, 1], pool_int64s=[1, 2])  # fmt: skip
    feeds = {"x": np.zeros(0, np.int64)}
    (y,) = run(node("TfIdfVectorizer", ["x"], **attrs), feeds, {"y": 1}, [("", 9)])
    assert y.tolist() == [0.0, 0.0]


def test_tfidf_rejects_both_pools():
    attrs = dict(mode="TF", min_gram_length=1, max_gram_length=1, max_skip_count=0,
                 ngram_counts=[0], ngram_indexes=[0], pool_int64s=[1],
                 pool_strings=["a"])  # fmt: skip
    with pytest.raises(NodeExecutionError, match="exactly one"):
        run(node("TfIdfVectorizer", ["x"], **attrs), {"x": np.ones(2, np.int64)}, {"y": 1})


def test_tfidf_rejects_ngram_counts_that_split_a_bigram():
    attrs = dict(mode="TF", min_gram_length=1, max_gram_length=2, max_skip_count=0,
                 ngram_counts=[0, 1], ngram_indexes=[0, 1], pool_int64s=[1, 2, 3, 4])  # fmt: skip
    with pytest.raises(NodeExecutionError, match="whole 1-grams, 2-grams"):
        run(node("TfIdfVectorizer", ["x"], **attrs), {"x": np.ones(2, np.int64)}, {"y": 1})


# ---- ai.onnx.ml ---------------------------------------------------------------------------------
def test_label_encoder_1_maps_indices_to_classes_and_back():
    ml1 = [("", 17), ("ai.onnx.ml", 1)]
    to_str = node("LabelEncoder", ["x"], domain="ai.onnx.ml", classes_strings=["p", "q"])
    feeds = {"x": np.array([1, 3, -1, 0], np.int64)}
    ours, theirs = both(to_str, feeds, {"y": TensorProto.STRING}, ml1)
    assert ours[0].tolist() == theirs[0].tolist() == ["q", "_Unused", "_Unused", "p"]
    ours, theirs = both(to_str, {"x": strings("q", "z")}, {"y": TensorProto.INT64}, ml1)
    assert ours[0].tolist() == theirs[0].tolist() == [1, -1]


def test_label_encoder_2_int_to_float_uses_default_float():
    n = node("LabelEncoder", ["x"], domain="ai.onnx.ml", keys_int64s=[1, 2],
             values_floats=[0.5, 1.5], default_float=9.0)  # fmt: skip
    feeds = {"x": np.array([[1, 3], [2, 2]], np.int64)}
    ours, theirs = both(n, feeds, {"y": TensorProto.FLOAT}, [("", 17), ("ai.onnx.ml", 2)])
    assert ours[0].dtype == np.float32
    assert ours[0].tolist() == theirs[0].tolist() == [[0.5, 9.0], [1.5, 1.5]]


def test_label_encoder_4_nan_key_matches_any_nan_input():
    n = node("LabelEncoder", ["x"], domain="ai.onnx.ml", keys_floats=[1.0, float("nan")],
             values_int64s=[10, 20])  # fmt: skip
    feeds = {"x": np.array([np.nan, 1.0, 2.0], np.float32)}
    ours, theirs = both(n, feeds, {"y": TensorProto.INT64}, [("", 17), ML])
    assert ours[0].tolist() == theirs[0].tolist() == [20, 10, -1]


def test_label_encoder_4_repeated_key_takes_the_last_value_as_the_spec_says():
    # onnxruntime keeps the first value; ONNX says the last key takes precedence.
    n = node("LabelEncoder", ["x"], domain="ai.onnx.ml", keys_int64s=[1, 1], values_int64s=[5, 6])
    (y,) = run(n, {"x": np.array([1], np.int64)}, {"y": TensorProto.INT64}, [("", 17), ML])
    assert y.tolist() == [6]


def test_label_encoder_4_double_tensors_with_builtin_default():
    n = node("LabelEncoder", ["x"], domain="ai.onnx.ml",
             keys_tensor=oh.make_tensor("k", TensorProto.DOUBLE, (2,), [1.5, 2.5]),
             values_tensor=oh.make_tensor("v", TensorProto.DOUBLE, (2,), [3.0, 4.0]))  # fmt: skip
    feeds = {"x": np.array([2.5, 0.0], np.float64)}
    ours, theirs = both(n, feeds, {"y": TensorProto.DOUBLE}, [("", 17), ML])
    assert ours[0].dtype == np.float64
    assert ours[0].tolist() == theirs[0].tolist() == [4.0, -0.0]


def test_label_encoder_without_keys_is_an_error():
    n = node("LabelEncoder", ["x"], domain="ai.onnx.ml", values_int64s=[1])
    with pytest.raises(NodeExecutionError, match="keys_"):
        run(n, {"x": np.array([1], np.int64)}, {"y": TensorProto.INT64}, [("", 17), ML])


def _tree_node(elem=TensorProto.FLOAT, **attrs):
    """Two trees on two features; tree 0: x0 <= 0.5 ? leaf 0 : leaf 1; tree 1: x1 < 2 ? 2 : 3."""
    base = dict(
        tree_roots=[0, 1], nodes_featureids=[0, 1],
        nodes_modes=oh.make_tensor("m", TensorProto.UINT8, (2,), [0, 1]),
        nodes_splits=oh.make_tensor("s", elem, (2,), [0.5, 2.0]),
        nodes_truenodeids=[0, 2], nodes_trueleafs=[1, 1],
        nodes_falsenodeids=[1, 3], nodes_falseleafs=[1, 1],
        leaf_targetids=[0, 1, 0, 1],
        leaf_weights=oh.make_tensor("w", elem, (4,), [1.0, -2.0, 3.0, 0.5]),
        n_targets=2,
    )  # fmt: skip
    base.update(attrs)
    return node("TreeEnsemble", ["x"], domain="ai.onnx.ml", **base)


TREE_X = np.array([[0.1, 1.0], [0.9, 3.0], [0.5, 2.0], [np.nan, np.nan]], np.float32)


@pytest.mark.parametrize(
    "aggregate, post", [(0, 0), (1, 0), (2, 0), (3, 0), (1, 3)],
    ids=["average", "sum", "min", "max", "sum-softmax-zero"],
)  # fmt: skip
def test_tree_ensemble_aggregates_like_onnxruntime(aggregate, post):
    n = _tree_node(aggregate_function=aggregate, post_transform=post)
    ours, theirs = both(n, {"x": TREE_X}, {"y": 1}, [("", 21), ("ai.onnx.ml", 5)])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-6)


def test_tree_ensemble_post_transform_1_is_softmax_and_2_is_logistic_as_the_spec_says():
    # onnxruntime swaps the two (its internal enum has LOGISTIC = 1, SOFTMAX = 2).
    opsets = [("", 21), ("ai.onnx.ml", 5)]
    (raw,) = run(_tree_node(), {"x": TREE_X}, {"y": 1}, opsets)
    (soft,) = run(_tree_node(post_transform=1), {"x": TREE_X}, {"y": 1}, opsets)
    (logistic,) = run(_tree_node(post_transform=2), {"x": TREE_X}, {"y": 1}, opsets)
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    np.testing.assert_allclose(soft, e / e.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(logistic, 1 / (1 + np.exp(-raw)), rtol=1e-6)


def test_tree_ensemble_missing_values_follow_the_true_branch_when_tracked():
    n = _tree_node(nodes_missing_value_tracks_true=[1, 0])
    ours, theirs = both(n, {"x": TREE_X[3:]}, {"y": 1}, [("", 21), ("ai.onnx.ml", 5)])
    assert ours[0].tolist() == theirs[0].tolist() == [[1.0, 0.5]]


def test_tree_ensemble_probit_is_sqrt2_times_inverse_erf():
    n = _tree_node(
        TensorProto.DOUBLE,
        post_transform=4,
        leaf_weights=oh.make_tensor("w", TensorProto.DOUBLE, (4,), [0.1, 0.2, 0.3, 0.4]),
    )
    (y,) = run(n, {"x": TREE_X[:1].astype(np.float64)}, {"y": 11}, [("", 21), ("ai.onnx.ml", 5)])
    # tree 0 gives 0.1 to target 0, tree 1 gives 0.3 to target 0: scores [0.4, 0]
    for score, got in zip([0.4, 0.0], y[0]):
        assert math.isclose(0.5 * (1 + math.erf(got / math.sqrt(2))), score, abs_tol=1e-6)


def test_tree_ensemble_with_a_cycle_is_an_error():
    n = _tree_node(nodes_trueleafs=[0, 1], nodes_truenodeids=[0, 2])  # node 0 loops to itself
    with pytest.raises(NodeExecutionError, match="cycle"):
        run(n, {"x": TREE_X[:1]}, {"y": 1}, [("", 21), ("ai.onnx.ml", 5)])


def test_array_feature_extractor_on_1d_input_gives_one_row():
    n = node("ArrayFeatureExtractor", ["x", "i"], domain="ai.onnx.ml")
    feeds = {"x": strings("a", "b", "c"), "i": np.array([2, 0], np.int64)}
    ours, theirs = both(n, feeds, {"y": TensorProto.STRING}, [("", 17), ML])
    assert ours[0].tolist() == theirs[0].tolist() == [["c", "a"]]


def test_array_feature_extractor_rejects_an_index_out_of_range():
    n = node("ArrayFeatureExtractor", ["x", "i"], domain="ai.onnx.ml")
    feeds = {"x": np.ones((2, 3), np.float32), "i": np.array([3], np.int64)}
    with pytest.raises(NodeExecutionError, match="out of range"):
        run(n, feeds, {"y": 1}, [("", 17), ML])


def test_binarizer_keeps_integer_dtype():
    n = node("Binarizer", ["x"], domain="ai.onnx.ml", threshold=2.0)
    feeds = {"x": np.array([1, 2, 3, -5], np.int32)}  # (onnxruntime has only float kernels)
    (y,) = run(n, feeds, {"y": TensorProto.INT32}, [("", 17), ML])
    assert y.dtype == np.int32 and y.tolist() == [0, 0, 1, 0]


# ---- training -----------------------------------------------------------------------------------
def _train_feeds(t: int, *tensors) -> dict:
    feeds = {"R": np.array(0.1, np.float32), "T": np.array(t, np.int64)}
    feeds.update({f"in{i}": v for i, v in enumerate(tensors)})
    return feeds


def test_adam_after_the_first_step_corrects_bias_and_applies_post_regularisation():
    x, g = np.array([1.0, -2.0], np.float32), np.array([0.5, 0.25], np.float32)
    v, h = np.array([0.1, 0.2], np.float32), np.array([0.3, 0.4], np.float32)
    n = node("Adam", ["R", "T", "in0", "in1", "in2", "in3"], ["x", "v", "h"], domain=TRAINING[0],
             alpha=0.9, beta=0.99, epsilon=1e-3, norm_coefficient_post=0.1)  # fmt: skip
    x_new, v_new, h_new = run(n, _train_feeds(3, x, g, v, h), {"x": 1, "v": 1, "h": 1}, [TRAINING])
    v_ref = 0.9 * v + 0.1 * g
    h_ref = 0.99 * h + 0.01 * g * g
    rate = 0.1 * np.sqrt(1 - 0.99**3) / (1 - 0.9**3)
    x_ref = 0.9 * (x - rate * v_ref / (np.sqrt(h_ref) + 1e-3))
    np.testing.assert_allclose(v_new, v_ref, rtol=1e-6)
    np.testing.assert_allclose(h_new, h_ref, rtol=1e-6)
    np.testing.assert_allclose(x_new, x_ref, rtol=1e-6)
    assert x_new.dtype == np.float32


def test_adagrad_in_float64_decays_the_learning_rate_with_t():
    x, g, h = np.array([1.0]), np.array([2.0]), np.array([0.0])
    n = node("Adagrad", ["R", "T", "in0", "in1", "in2"], ["x", "h"], domain=TRAINING[0],
             decay_factor=0.5, epsilon=0.0)  # fmt: skip
    x_new, h_new = run(n, _train_feeds(2, x, g, h), {"x": 11, "h": 11}, [TRAINING])
    assert h_new.tolist() == [4.0]
    assert x_new.dtype == np.float64
    assert math.isclose(x_new[0], 1.0 - float(np.float32(0.1)) / 2)


def test_momentum_uses_beta_after_the_first_step():
    x, g, v = (np.array([1.0], np.float32) for _ in range(3))
    n = node("Momentum", ["R", "T", "in0", "in1", "in2"], ["x", "v"], domain=TRAINING[0],
             alpha=0.5, beta=0.25, mode="standard", norm_coefficient=0.0)  # fmt: skip
    x_new, v_new = run(n, _train_feeds(1, x, g, v), {"x": 1, "v": 1}, [TRAINING])
    assert v_new.tolist() == [0.75] and np.isclose(x_new[0], 1 - 0.1 * 0.75)


def test_momentum_rejects_an_unknown_mode():
    n = node("Momentum", ["R", "T", "in0", "in1", "in2"], ["x", "v"], domain=TRAINING[0],
             alpha=0.5, beta=0.25, mode="heavy", norm_coefficient=0.0)  # fmt: skip
    feeds = _train_feeds(0, *(np.ones(1, np.float32) for _ in range(3)))
    with pytest.raises(NodeExecutionError, match="mode"):
        run(n, feeds, {"x": 1, "v": 1}, [TRAINING])


def test_optimizer_inputs_must_split_into_equal_groups():
    n = node("Adagrad", ["R", "T", "in0", "in1"], ["x"], domain=TRAINING[0])
    feeds = _train_feeds(0, np.ones(1, np.float32), np.ones(1, np.float32))
    with pytest.raises(NodeExecutionError, match="groups"):
        run(n, feeds, {"x": 1}, [TRAINING])


# ---- random -------------------------------------------------------------------------------------
# Values cannot match other engines (numpy draws); only shapes, dtypes, ranges and seeding can.
def test_random_uniform_is_reproducible_with_a_seed_and_stays_in_range():
    n = node("RandomUniform", [], shape=[3, 4], low=2.0, high=3.0, seed=5.0)
    first, second = run(n, {}, {"y": 1})[0], run(n, {}, {"y": 1})[0]
    assert first.shape == (3, 4) and first.dtype == np.float32
    assert np.array_equal(first, second)
    assert ((first >= 2.0) & (first < 3.0)).all()


def test_random_normal_in_float64_has_roughly_the_requested_mean_and_scale():
    n = node("RandomNormal", [], shape=[4000], mean=5.0, scale=2.0, seed=1.5, dtype=11)
    (y,) = run(n, {}, {"y": 11})
    assert y.dtype == np.float64
    assert abs(y.mean() - 5.0) < 0.2 and abs(y.std() - 2.0) < 0.2


def test_random_uniform_like_takes_shape_and_dtype_from_the_input():
    x = np.zeros((2, 0, 3), np.float16)
    (y,) = run(node("RandomUniformLike", ["x"]), {"x": x}, {"y": TensorProto.FLOAT16})
    assert y.shape == (2, 0, 3) and y.dtype == np.float16


def test_random_normal_like_of_an_integer_input_needs_a_dtype():
    x = np.zeros((2,), np.int64)
    with pytest.raises(NodeExecutionError, match="dtype"):
        run(node("RandomNormalLike", ["x"]), {"x": x}, {"y": 1})
    (y,) = run(node("RandomNormalLike", ["x"], dtype=1), {"x": x}, {"y": 1})
    assert y.dtype == np.float32 and y.shape == (2,)


def test_bernoulli_with_certain_probabilities_is_deterministic_in_the_asked_dtype():
    x = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    (y,) = run(node("Bernoulli", ["x"], dtype=TensorProto.INT32), {"x": x}, {"y": 6})
    assert y.dtype == np.int32 and y.tolist() == [0, 1, 1, 0]


def test_multinomial_draws_the_only_likely_class():
    x = np.array([[0.0, 50.0, 0.0], [50.0, 0.0, 0.0]], np.float32)
    n = node("Multinomial", ["x"], sample_size=5, dtype=TensorProto.INT64, seed=3.0)
    (y,) = run(n, {"x": x}, {"y": 7}, [("", 7)])
    assert y.dtype == np.int64 and y.tolist() == [[1] * 5, [0] * 5]


# ---- ImageDecoder -------------------------------------------------------------------------------
def test_image_decoder_without_pillow_asks_to_install_it():
    try:
        import PIL  # noqa: F401
    except ImportError:
        data = np.frombuffer(b"\x89PNG\r\n", np.uint8)
        with pytest.raises(NodeExecutionError, match="install pillow"):
            run(node("ImageDecoder", ["x"]), {"x": data}, {"y": 2})
    else:
        pytest.skip("pillow is installed")


def test_image_decoder_with_pillow_decodes_png_as_bgr():
    image_module = pytest.importorskip("PIL.Image")
    pixels = RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    image_module.fromarray(pixels).save(buffer, format="PNG")
    data = np.frombuffer(buffer.getvalue(), np.uint8)
    (y,) = run(node("ImageDecoder", ["x"], pixel_format="BGR"), {"x": data}, {"y": 2})
    assert y.dtype == np.uint8 and np.array_equal(y, pixels[:, :, ::-1])
