"""LSTM and GRU kernels agree with the reference (directions, layouts, states, lens, clip)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import gossamer

from ._helpers import assert_close, assert_on_cython, run_both

DIRECTIONS = ["forward", "reverse", "bidirectional"]


@pytest.fixture(autouse=True, scope="module")
def _teams_as_asked() -> Iterator[None]:
    """The threads asked for, always (not one thread after a team the busy machine starved, nor
    for a recurrence too small to pay for a team): the team path runs on these small shapes."""
    from gossamer.cython_kernels._native import ext

    ext().rnn_team_policy(False)
    ext().rnn_size_rule(False)
    yield
    ext().rnn_size_rule(True)
    ext().rnn_team_policy(True)


def rnn_model(
    op: str, steps: int, batch: int, features: int, hidden: int, *, seed: int = 0,
    direction: str = "forward", layout: int = 0, bias: bool = True, initial: bool = True,
    lens: np.ndarray | None = None, peepholes: bool = False, weights_as_inputs: bool = False,
    outputs: tuple[str, ...] = ("y", "y_h", "y_c"), opset: int = 14, **attrs: Any,
) -> tuple[bytes, dict[str, np.ndarray]]:  # fmt: skip
    """A one-node LSTM/GRU model (weights ~ U(+-1/sqrt(hidden)), as trained models have) and its
    feeds."""
    rng = np.random.default_rng(seed)
    dirs, gates = (2 if direction == "bidirectional" else 1), (4 if op == "LSTM" else 3)
    scale = 1 / np.sqrt(hidden)

    def uniform(*shape: int) -> np.ndarray:
        return rng.uniform(-scale, scale, shape).astype(np.float32)

    x = rng.standard_normal((batch, steps, features) if layout else (steps, batch, features))
    feeds = {"x": x.astype(np.float32)}
    consts = {
        "W": uniform(dirs, gates * hidden, features),
        "R": uniform(dirs, gates * hidden, hidden),
    }
    if weights_as_inputs:
        feeds.update(consts)
        consts = {}
    if bias:
        consts["B"] = uniform(dirs, 2 * gates * hidden)
    state = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
    if lens is not None:
        feeds["lens"] = lens.astype(np.int32)
    if initial:
        feeds["h0"] = rng.standard_normal(state).astype(np.float32)
        if op == "LSTM":
            feeds["c0"] = rng.standard_normal(state).astype(np.float32)
    if peepholes:
        consts["P"] = uniform(dirs, 3 * hidden)
    names = ["x", "W", "R", "B" if bias else "", "lens" if lens is not None else "",
             "h0" if initial else ""]  # fmt: skip
    if op == "LSTM":
        names += ["c0" if initial else "", "P" if peepholes else ""]
    while names[-1] == "":
        names.pop()
    if layout:
        attrs["layout"] = 1
    outputs = outputs[: 3 if op == "LSTM" else 2]
    node = helper.make_node(op, names, list(outputs), hidden_size=hidden, direction=direction,
                            **attrs)  # fmt: skip
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int32): TensorProto.INT32}
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(k, elem[v.dtype], v.shape) for k, v in feeds.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs if o],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in consts.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return model.SerializeToString(), feeds


def check(model: bytes, feeds: dict[str, np.ndarray], threads: int) -> Any:
    ours, ref, placement = run_both(model, feeds, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-4, atol=2e-5)
    return ours


@settings(max_examples=12, deadline=None)
@given(
    op=st.sampled_from(["LSTM", "GRU"]),
    steps=st.integers(1, 6),
    batch=st.integers(1, 4),
    features=st.integers(1, 9),
    hidden=st.sampled_from([1, 5, 16, 17, 33, 48, 70]),
    direction=st.sampled_from(DIRECTIONS),
    layout=st.integers(0, 1),
    bias=st.booleans(),
    initial=st.booleans(),
    clip=st.sampled_from([None, 0.5]),
)
def test_rnn_matches_reference(op, steps, batch, features, hidden, direction, layout, bias,
                               initial, clip, simd, threads):  # fmt: skip
    attrs = {"clip": clip} if clip else {}
    model, feeds = rnn_model(op, steps, batch, features, hidden, direction=direction,
                             layout=layout, bias=bias, initial=initial, **attrs)  # fmt: skip
    check(model, feeds, threads)


@pytest.mark.parametrize("op, opset", [("LSTM", 7), ("GRU", 7), ("LSTM", 14), ("GRU", 14)])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_long_sequences_on_two_threads_match_reference(op, opset, direction, simd):
    model, feeds = rnn_model(op, 40, 1, 24, 70, direction=direction, opset=opset)
    check(model, feeds, 2)


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_gru_linear_before_reset_matches_reference(lbr, direction, threads):
    model, feeds = rnn_model("GRU", 5, 3, 4, 33, direction=direction, linear_before_reset=lbr)
    check(model, feeds, threads)


@pytest.mark.parametrize("input_forget", [0, 1])
def test_lstm_peepholes_and_input_forget_match_reference(input_forget, threads):
    model, feeds = rnn_model("LSTM", 6, 2, 5, 20, direction="bidirectional", peepholes=True,
                             input_forget=input_forget)  # fmt: skip
    check(model, feeds, threads)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_unequal_sequence_lens_run_here_and_match_reference(op, layout, direction, threads):
    lens = np.array([5, 0, 3, 1], np.int64)
    model, feeds = rnn_model(op, 5, 4, 3, 21, direction=direction, layout=layout, lens=lens)
    session = gossamer.load(model, backends=["cython"], threads=threads)
    check(model, feeds, threads)
    session.run(None, feeds)
    assert session.runtime_fallbacks == {}


def test_sequence_lens_out_of_range_fall_back_to_the_reference_error():
    model, feeds = rnn_model("LSTM", 3, 2, 3, 8, lens=np.array([4, 1]))
    session = gossamer.load(model, backends=["cython"], threads=1)
    with pytest.raises(gossamer.GossamerError, match="sequence_lens"):
        session.run(None, feeds)
    ((count, reason),) = session.runtime_fallbacks.values()
    assert count == 1 and "sequence_lens" in reason


@pytest.mark.parametrize("outputs", [("y",), ("", "y_h"), ("", "", "y_c"), ("y", "", "y_c")])
def test_unnamed_outputs_are_skipped(outputs):
    model, feeds = rnn_model("LSTM", 4, 2, 3, 18, outputs=outputs)
    check(model, feeds, 2)


def test_runtime_weights_are_packed_per_call():
    model, feeds = rnn_model("GRU", 4, 2, 3, 18, weights_as_inputs=True, direction="reverse")
    check(model, feeds, 2)


def test_oversubscribed_team_matches_reference():
    """More threads than cores: threads get descheduled, others run (or re-run) their items."""
    model, feeds = rnn_model("LSTM", 60, 2, 8, 96, direction="bidirectional")
    for _ in range(3):
        check(model, feeds, 6)


@pytest.mark.parametrize(
    "op, acts", [("LSTM", ["Sigmoid", "Tanh", "Relu"]), ("GRU", ["HardSigmoid", "Tanh"])]
)
def test_non_default_activations_are_declined_with_a_reason(op, acts):
    model, feeds = rnn_model(op, 2, 1, 3, 4, activations=acts)
    ours, ref, placement = run_both(model, feeds, 1)
    (reasons,) = placement.declined.values()
    assert "only the defaults" in reasons["cython"]
    assert_close(ours, ref, rtol=0, atol=0)  # the reference ran it


def test_default_activations_spelled_out_run_here():
    acts = ["sigmoid", "TANH", "Tanh"] * 2
    model, feeds = rnn_model("LSTM", 3, 1, 3, 4, direction="bidirectional", activations=acts)
    check(model, feeds, 1)


def _segmented(model: bytes, feeds: dict[str, np.ndarray], threads: int) -> Any:
    """Runs the model with segments and node by node; the outputs must be equal bit for bit and
    match the reference. Returns the segmented session."""
    fast = gossamer.load(model, backends=["cython"], threads=threads, optimize=0)
    slow = gossamer.load(model, backends=["cython"], threads=threads, optimize=0)
    slow._program.use_segments = False
    for k in range(4):
        run = {n: (v + np.float32(0.1 * k) if n in ("x", "h0") else v) for n, v in feeds.items()}
        a, b = fast.run(None, run), slow.run(None, run)
        for u, v in zip(a, b):
            assert u.tobytes() == v.tobytes()
    check(model, feeds, threads)
    return fast


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("direction, lbr", [("forward", 0), ("bidirectional", 1)])
def test_constant_weight_rnns_replay_in_a_segment(op, direction, lbr, threads):
    attrs = {"linear_before_reset": lbr} if op == "GRU" else {}
    model, feeds = rnn_model(op, 5, 2, 6, 20, direction=direction, peepholes=op == "LSTM",
                             clip=0.9, **attrs)  # fmt: skip
    fast = _segmented(model, feeds, threads)
    from gossamer.cython_kernels import segments

    assert segments.split_reasons(fast._program) == {}
    segs = [seg for _, _, seg, _ in fast._program.schedule or () if seg is not None]
    assert len(segs) == 1


@pytest.mark.parametrize(
    "kind, why",
    [("lens", "cannot be recorded"), ("weights", "cannot be recorded")],
)
def test_rnns_that_do_python_work_run_outside_segments(kind, why):
    lens = np.array([3, 5], np.int32) if kind == "lens" else None
    model, feeds = rnn_model("LSTM", 5, 2, 6, 20, lens=lens, weights_as_inputs=kind == "weights")
    fast = _segmented(model, feeds, 1)
    from gossamer.cython_kernels import segments

    (reason,) = segments.split_reasons(fast._program).values()
    assert why in reason


def test_the_team_size_follows_the_work():
    """One step of H = 128 (silero_vad) or a few steps of a small state run on the calling
    thread; 50 steps of H = 256 (the benchmark LSTM) get the team; never more threads than
    16-unit panels. With the rule off (this module) every thread with a panel runs."""
    from gossamer.cython_kernels._native import ext

    ext().rnn_size_rule(True)
    try:
        assert ext().rnn_threads(1, 1, 128, 1, 4, 2) == 1
        assert ext().rnn_threads(4, 1, 128, 1, 4, 2) == 1
        assert ext().rnn_threads(50, 1, 256, 1, 4, 2) == 2
        assert ext().rnn_threads(50, 1, 16, 1, 4, 8) == 1
        assert ext().rnn_threads(50, 4, 512, 2, 4, 64) == 32
    finally:
        ext().rnn_size_rule(False)
    assert ext().rnn_threads(1, 1, 20, 1, 3, 2) == 2
    with pytest.raises(ValueError):
        ext().rnn_threads(1, 1, 20, 0, 3, 2)


def test_weights_given_as_values_are_packed_again_only_when_they_change(monkeypatch):
    from gossamer.cython_kernels import rnn_kernels

    packs = []
    pack = rnn_kernels._Layer.weights
    monkeypatch.setattr(rnn_kernels._Layer, "weights",
                        lambda self, *a, **k: packs.append(1) or pack(self, *a, **k))  # fmt: skip
    model, feeds = rnn_model("LSTM", 3, 2, 5, 20, weights_as_inputs=True, peepholes=True)
    session = gossamer.load(model, backends=["cython"], threads=1)
    reference = gossamer.load(model, backends=[], optimize=0)
    for scale in [1.0, 1.0, 0.5, 0.5, 1.0]:
        run = {**feeds, "R": feeds["R"] * np.float32(scale)}
        assert_close(session.run(None, run), reference.run(None, run), rtol=1e-4, atol=2e-5)
    assert len(packs) == 3  # the first call, and each change of R
