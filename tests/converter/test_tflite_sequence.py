"""TFLite sequence ops (UNIDIRECTIONAL_SEQUENCE_LSTM / RNN, BIDIRECTIONAL_SEQUENCE_LSTM) against
LiteRT's reference kernels: every LSTM variant, and the state tensors kept across invoke() calls."""

import numpy as np
import pytest

pytest.importorskip("tflite")

from gossamer.refimpl.errors import UnsupportedModelError  # noqa: E402
from gossamer.refimpl.model_format import dump_gsm  # noqa: E402

import gossamer  # noqa: E402
from tests.converter import tflite_sequence_models as models  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")
RUNS = 4


class LiteRT:
    """One interpreter (reference kernels) kept across invoke() calls."""

    def __init__(self, model: bytes) -> None:
        resolver = litert.OpResolverType.BUILTIN_REF
        self.it = litert.Interpreter(model_content=model, experimental_op_resolver_type=resolver)
        self.it.allocate_tensors()
        self.input = self.it.get_input_details()[0]

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        self.it.set_tensor(self.input["index"], x)
        self.it.invoke()
        return [self.it.get_tensor(d["index"]) for d in self.it.get_output_details()]


def _feeds(model: bytes) -> list[np.ndarray]:
    shape = LiteRT(model).input["shape"]
    return [np.random.default_rng(r).standard_normal(shape).astype(np.float32) for r in range(RUNS)]


def _same_as_litert(model: bytes, optimize: int = 0, backends=None) -> None:
    """RUNS consecutive runs of one session equal RUNS invokes of one interpreter."""
    sess = gossamer.load(model, optimize=optimize, backends=backends)
    theirs = LiteRT(model)
    for x in _feeds(model):
        expected = theirs(x)
        ours = sess.run(None, {models.X: x})
        assert len(ours) == len(expected)
        for a, b in zip(ours, expected):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


LSTM_VARIANTS = {
    "plain": {},
    "time_major": {"time_major": True},
    "peephole": {"peephole": True},
    "cifg": {"cifg": True},
    "projection": {"n_proj": 2},
    "projection_no_bias_clipped": {"n_proj": 2, "proj_bias": False, "proj_clip": 0.3},
    "cell_clip": {"cell_clip": 0.5},
    "relu": {"activation": models.RELU},
    "layer_norm": {"layer_norm": True},
    "layer_norm_cifg_peephole": {"layer_norm": True, "cifg": True, "peephole": True},
    "everything": {
        "cifg": True,
        "peephole": True,
        "n_proj": 3,
        "cell_clip": 1.0,
        "proj_clip": 0.5,
        "time_major": True,
    },  # fmt: skip
    "one_step_batch_one": {"steps": 1, "batch": 1},
}


@pytest.mark.parametrize("variant", sorted(LSTM_VARIANTS))
def test_unidirectional_lstm_matches_litert_over_consecutive_runs(variant):
    _same_as_litert(models.lstm(**LSTM_VARIANTS[variant]))


@pytest.mark.parametrize("optimize", [0, 3])
@pytest.mark.parametrize("backends", [["reference"], ["cython", "reference"]])
def test_lstm_on_every_backend_and_optimisation_level(optimize, backends):
    _same_as_litert(models.lstm(peephole=True, n_proj=3, steps=5), optimize, backends)


RNN_VARIANTS = [{}, {"time_major": True}, {"activation": models.RELU}, {"activation": 0},
                {"activation": 3, "time_major": True}]  # fmt: skip


@pytest.mark.parametrize("kw", RNN_VARIANTS)
def test_unidirectional_rnn_matches_litert(kw):
    _same_as_litert(models.rnn(**kw))


ONE_STEP_LSTM_VARIANTS = ["plain", "peephole", "cifg", "projection", "layer_norm", "everything"]


@pytest.mark.parametrize("variant", ONE_STEP_LSTM_VARIANTS)
def test_one_step_lstm_op_matches_litert(variant):
    kw = {k: v for k, v in LSTM_VARIANTS[variant].items() if k != "time_major"}
    _same_as_litert(models.lstm(one_step=True, **kw))


@pytest.mark.parametrize("activation", [models.TANH, models.RELU, 0])
def test_one_step_rnn_op_matches_litert(activation):
    _same_as_litert(models.rnn(one_step=True, activation=activation))


# batch-major merged output: LiteRT leaves rows of batches > 0 unwritten at times (garbage,
# NaN, varying with the resolver), so it is the oracle at batch 1 only; see the next test
BIDIRECTIONAL_VARIANTS = [
    {}, {"merge": True}, {"time_major": False}, {"time_major": False, "merge": True, "batch": 1},
    {"peephole": True}, {"cell_clip": 0.4},
    {"cell_clip": 0.4, "merge": True, "time_major": False, "batch": 1},
]  # fmt: skip


@pytest.mark.parametrize("kw", BIDIRECTIONAL_VARIANTS)
def test_bidirectional_lstm_matches_litert(kw):
    _same_as_litert(models.bidirectional_lstm(**kw))


BIDIRECTIONAL_RNN_VARIANTS = [
    {}, {"merge": True}, {"time_major": True}, {"time_major": True, "merge": True},
    {"activation": 0}, {"activation": 3, "merge": True, "time_major": True}, {"activation": 1},
]  # fmt: skip


@pytest.mark.parametrize("kw", BIDIRECTIONAL_RNN_VARIANTS)
def test_bidirectional_rnn_matches_litert(kw):
    _same_as_litert(models.bidirectional_rnn(**kw))


@pytest.mark.parametrize("clip", [0.0, 0.4])  # one ONNX LSTM node, unrolled
def test_batch_major_merged_output_is_both_directions_side_by_side(clip):
    kw = {"time_major": False, "batch": 3, "cell_clip": clip}
    x = _feeds(models.bidirectional_lstm(**kw))[0]
    merged = gossamer.load(models.bidirectional_lstm(merge=True, **kw), optimize=0)
    fw, bw = gossamer.load(models.bidirectional_lstm(**kw), optimize=0).run(None, {models.X: x})
    np.testing.assert_array_equal(merged.run(None, {models.X: x})[0], np.concatenate([fw, bw], -1))


@pytest.mark.parametrize(
    "model,fused",
    [(models.lstm(), True), (models.lstm(peephole=True, time_major=True), True),
     (models.lstm(cifg=True), False), (models.lstm(n_proj=2), False),
     (models.lstm(cell_clip=1.0), False), (models.lstm(layer_norm=True), False),
     (models.lstm(activation=models.RELU), False), (models.bidirectional_lstm(), True),
     (models.bidirectional_lstm(cell_clip=0.4), False), (models.rnn(), True),
     (models.rnn(activation=0), False), (models.bidirectional_rnn(), True),
     (models.bidirectional_rnn(activation=0), False)],
)  # fmt: skip
def test_what_onnx_lstm_and_rnn_express_becomes_one_node(model, fused):
    ops = [n.op_type for n in gossamer.load(model, optimize=0).graph.nodes]
    assert (ops.count("LSTM") + ops.count("RNN") == 1) is fused
    assert ("Sigmoid" in ops or "MatMul" in ops) is not fused  # else: unrolled per step


def test_lstm_state_is_kept_read_and_reset_like_a_fresh_interpreter():
    model = models.lstm(n_proj=2)
    sess = gossamer.load(model, optimize=0)
    assert sorted(sess.state) == ["cell_state", "output_state"]
    assert not np.any(sess.state["output_state"])  # LiteRT zero-fills variable tensors
    x = _feeds(model)[0]
    first = sess.run(None, {models.X: x})[0]
    kept = sess.state
    assert kept["output_state"].shape == (2, 2) and kept["cell_state"].shape == (2, 4)
    # the kept output state is the last step's output (batch-major [B, T, n_out])
    np.testing.assert_array_equal(kept["output_state"], first[:, -1])
    second = sess.run(None, {models.X: x})[0]
    assert not np.allclose(first, second)  # the state changed what the same input gives
    sess.reset_state()
    np.testing.assert_array_equal(sess.run(None, {models.X: x})[0], first)


def test_state_tensors_are_not_session_inputs_or_outputs():
    sess = gossamer.load(models.bidirectional_lstm(), optimize=0)
    assert [v.name for v in sess.inputs] == [models.X]
    assert [v.name for v in sess.outputs] == ["fw_out", "bw_out"]
    assert len(sess.state) == 4


def test_a_variant_not_imported_is_refused_with_the_reason():
    with pytest.raises(UnsupportedModelError) as err:
        gossamer.load(models.lstm(activation=5), optimize=0)  # SIGN_BIT
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(err.value)
    assert "fused activation 5" in str(err.value)


def test_an_lstm_saved_as_gsm_keeps_running_statefully():
    model = models.lstm(peephole=True, cifg=True)
    sess = gossamer.load(model, optimize=3)
    loaded = gossamer.load(dump_gsm(sess.graph), optimize=0)
    assert sorted(loaded.state) == ["cell_state", "output_state"]
    theirs = LiteRT(model)
    for x in _feeds(model):
        np.testing.assert_allclose(loaded.run(None, {models.X: x})[0], theirs(x)[0], rtol=1e-5,
                                   atol=1e-6)  # fmt: skip


def test_a_long_sequence_with_a_batch_of_one():
    _same_as_litert(models.lstm(steps=40, batch=1, n_in=8, n_cell=16, n_proj=6), optimize=3)


def test_a_state_tensor_read_after_its_in_place_update_is_refused():
    with pytest.raises(UnsupportedModelError, match="hidden_state.*read by operator"):
        gossamer.load(models.rnn_then_state_read(), optimize=0)


def test_weights_of_the_wrong_shape_are_refused_with_the_reason():
    with pytest.raises(UnsupportedModelError, match=r"input-to-gate weights has shape \(4, 5\)"):
        gossamer.load(models.lstm(weights_n_in=5, n_in=3), optimize=0)


def test_an_unrolled_variant_with_too_many_steps_is_refused_but_a_fused_one_loads(monkeypatch):
    from gossamer.converter.tflite import ops_sequence

    monkeypatch.setattr(ops_sequence, "MAX_UNROLLED_STEPS", 4)
    gossamer.load(models.lstm(steps=6), optimize=0)  # one ONNX LSTM node: no limit
    with pytest.raises(UnsupportedModelError, match="6 steps exceed 4"):
        gossamer.load(models.lstm(steps=6, cifg=True), optimize=0)
    with pytest.raises(UnsupportedModelError, match="6 steps exceed 4"):
        gossamer.load(models.rnn(steps=6, activation=0), optimize=0)
