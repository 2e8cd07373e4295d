"""LSTM and GRU on opencl against the reference: every direction, initial states, peepholes,
clip, input_forget, linear_before_reset, hidden sizes that are and are not multiples of 8, absent
outputs; fp16 storage within its tolerance; and what is declined."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .conftest import check_against_reference

pytestmark = pytest.mark.usefixtures("device")
RNG = np.random.default_rng(1)


def uniform(*shape: int) -> np.ndarray:
    return RNG.uniform(-0.5, 0.5, shape).astype(np.float32)


def recurrent(op, *, T=5, B=2, I=3, H=10, direction="forward", init=False, peep=False,
              outputs=("y", "yh", "yc"), **attrs) -> tuple:  # fmt: skip
    D, gates = (2 if direction == "bidirectional" else 1), (4 if op == "LSTM" else 3)
    consts = {"W": uniform(D, gates * H, I), "R": uniform(D, gates * H, H)}
    consts["B"] = uniform(D, 2 * gates * H)
    ins = ["x", "W", "R", "B", "", "h0" if init else ""]
    feeds = {"x": RNG.standard_normal((T, B, I)).astype(np.float32)}
    inputs = [Value("x", "float32", (T, B, I))]
    if init:
        feeds["h0"] = RNG.standard_normal((D, B, H)).astype(np.float32)
        inputs.append(Value("h0", "float32", (D, B, H)))
    if op == "LSTM":
        ins += ["c0" if init else "", "P" if peep else ""]
        if init:
            feeds["c0"] = RNG.standard_normal((D, B, H)).astype(np.float32)
            inputs.append(Value("c0", "float32", (D, B, H)))
        if peep:
            consts["P"] = uniform(D, 3 * H)
    outs = list(outputs) if op == "LSTM" else [o for o in outputs if o != "yc"]
    node = Node(op, ins, outs, {"hidden_size": H, "direction": direction, **attrs}, name="n")
    graph = Graph(
        nodes=[node],
        inputs=inputs,
        outputs=[Value(o) for o in outs if o],
        initializers=consts,
        opsets={"": 14},
    )
    return graph, feeds


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("init", [False, True])
def test_recurrent_ops_match_the_reference(op, direction, init):
    graph, feeds = recurrent(op, direction=direction, init=init)
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("op", "attrs"),
    [
        ("LSTM", {"peep": True, "clip": 0.7}),
        ("LSTM", {"input_forget": 1, "H": 300, "T": 3}),  # more units than work-items
        ("GRU", {"linear_before_reset": 1, "clip": 0.9}),
        ("GRU", {"H": 19, "B": 3}),  # H not a multiple of 8
        ("LSTM", {"outputs": ("", "yh", "")}),  # only Y_h wanted
    ],
)
def test_recurrent_attributes_match_the_reference(op, attrs):
    graph, feeds = recurrent(op, **attrs)
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_fp16_storage_stays_within_the_reviewed_tolerance(op):
    graph, feeds = recurrent(op, direction="bidirectional", init=True)
    got = gossamer.load(graph, backends=["opencl-fp16"], optimize=0).run(None, feeds)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=4e-3, atol=1e-3)


def test_non_default_activations_fall_back():
    graph, feeds = recurrent("LSTM", activations=["Relu", "Tanh", "Tanh"])
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert "opencl runs the defaults" in sess.placement.declined["n"]["opencl"]


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_sequence_lens_hold_the_state_and_zero_the_padding(op, direction):
    """Batch rows of 5, 2, 0 and 3 steps of 5 (reversed rows run from their own last step)."""
    graph, feeds = recurrent(op, B=4, direction=direction, init=True)
    graph.nodes[0].inputs[4] = "lens"
    graph.inputs.append(Value("lens", "int32", (4,)))
    feeds["lens"] = np.array([5, 2, 0, 3], np.int32)
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)
    feeds["lens"] = np.array([1, 5, 4, 4], np.int32)  # other values: another plan
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)
    for g, e in zip(sess.run(None, feeds), expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_batch_major_layout_matches_the_reference(op):
    graph, feeds = recurrent(op, T=4, B=3, direction="bidirectional", init=True, layout=1)
    for value in graph.inputs:  # X [B, T, I], states [B, D, H]
        value.shape = (3, 4, 3) if value.name == "x" else (3, 2, 10)
    feeds = {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in feeds.items()}
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)
