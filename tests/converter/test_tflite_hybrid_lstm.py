"""Hybrid (dynamic-range quantised) UNIDIRECTIONAL_SEQUENCE_LSTM against LiteRT's reference kernels
over consecutive invokes (the states are kept): the integer products and the run-time
quantisation are LiteRT's; the gates' logistic / tanh are correctly rounded float32 where LiteRT
uses Eigen's vectorised approximations, so values agree within a few float32 ulps (rtol 1e-5,
atol 1e-6, as the float LSTM tests), not bit for bit."""

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_hybrid_models import hybrid_lstm  # noqa: E402
from tests.converter.tflite_int8_models import litert  # noqa: E402


def _litert_runs(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    it = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    out = []
    for x in feeds:
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        out.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
    return out


def _our_runs(session, feeds: list[np.ndarray]) -> list[np.ndarray]:
    name = session.get_inputs()[0].name
    return [np.asarray(session.run(None, {name: x})[0]) for x in feeds]


VARIANTS = {
    "plain": {},
    "asymmetric": {"asymmetric": True},
    "cifg": {"cifg": True},
    "peephole": {"peephole": True},
    "cifg-peephole": {"cifg": True, "peephole": True},
    "projection": {"n_proj": 3},
    "projection-asymmetric-peephole": {"n_proj": 3, "asymmetric": True, "peephole": True},
    "time-major": {"time_major": True},
    "clips": {"cell_clip": 0.5, "n_proj": 4, "proj_clip": 0.3},
    "relu": {"activation": 1},
    "batch-1": {"batch": 1, "steps": 7},
}


@pytest.mark.parametrize("optimize", [0, 3])
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_hybrid_lstm_matches_litert_over_consecutive_runs(name, optimize):
    kw = VARIANTS[name]
    model = hybrid_lstm(seed=len(name), **kw)
    batch, steps = kw.get("batch", 2), kw.get("steps", 4)
    shape = (steps, batch, 5) if kw.get("time_major") else (batch, steps, 5)
    rng = np.random.default_rng(len(name))
    feeds = [rng.normal(size=shape).astype(np.float32) for _ in range(3)]
    feeds[1][...] = 0  # an all-zero input: LiteRT skips its quantisation and products
    session = gossamer.load(model, optimize=optimize)
    theirs = _litert_runs(model, feeds)
    for ours, expected in zip(_our_runs(session, feeds), theirs):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    session.reset_state()
    np.testing.assert_allclose(_our_runs(session, feeds[:1])[0], theirs[0], rtol=1e-5, atol=1e-6)


def test_a_hybrid_lstm_is_one_node_and_keeps_its_states():
    from gossamer.converter.tflite.import_graph import graph_from_tflite

    graph = graph_from_tflite(hybrid_lstm())
    assert [n.op_type for n in graph.nodes].count("HybridSequenceLSTM") == 1
    assert len(graph.state) == 2


def test_a_hybrid_lstm_without_a_fused_activation_is_refused():
    """LiteRT's hybrid kernel leaves the output scratch unwritten for NONE (stale values)."""
    with pytest.raises(gossamer.UnsupportedModelError, match="hybrid LSTM with fused activation"):
        gossamer.load(hybrid_lstm(activation=0))
