"""LSTM with a hidden size that is a multiple of 8 runs on lstm_seq8_f32 (8 units a work-item,
R packed with the units in the lanes, float8 gates): against the reference in every direction,
with initial states, peepholes and clip, input_forget, sequence_lens, the batch-major layout and
fp16 storage; UNITS8 off takes the one-unit kernel on the same graph."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import recurrent as recurrent_kernels
from gossamer.refimpl.ir import Value

import gossamer

from .conftest import check_against_reference
from .test_recurrent import recurrent

pytestmark = pytest.mark.usefixtures("device")


def launched(sess) -> set[str]:  # type: ignore[no-untyped-def]
    parts = [o.impl for o in sess._program.overrides.values() if o.partition]  # noqa: SLF001
    return {
        kernel.function_name for part in parts for p in part.plans() for kernel, *_ in p.enqueue
    }


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("init", [False, True])
def test_units8_lstm_matches_the_reference(direction, init):
    graph, feeds = recurrent("LSTM", H=16, direction=direction, init=init)
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)
    assert "lstm_seq8_f32" in launched(sess)


@pytest.mark.parametrize(
    "attrs",
    [
        {"peep": True, "clip": 0.7},
        {"input_forget": 1, "T": 3},
        {"H": 264, "T": 3, "B": 1},  # 33 blocks of 8 units: more than one pass of the group
        {"outputs": ("", "yh", "")},
    ],
)
def test_units8_lstm_attributes_match_the_reference(attrs):
    graph, feeds = recurrent("LSTM", **{"H": 8, **attrs})
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)
    assert "lstm_seq8_f32" in launched(sess)


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_units8_sequence_lens_hold_the_state_and_zero_the_padding(direction):
    graph, feeds = recurrent("LSTM", B=4, H=16, direction=direction, init=True)
    graph.nodes[0].inputs[4] = "lens"
    graph.inputs.append(Value("lens", "int32", (4,)))
    feeds["lens"] = np.array([5, 2, 0, 3], np.int32)
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)


def test_units8_batch_major_layout_matches_the_reference():
    graph, feeds = recurrent("LSTM", T=4, B=3, H=8, direction="bidirectional", init=True, layout=1)
    for value in graph.inputs:  # X [B, T, I], states [B, D, H]
        value.shape = (3, 4, 3) if value.name == "x" else (3, 2, 8)
    feeds = {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in feeds.items()}
    check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)


def test_units8_fp16_storage_stays_within_the_reviewed_tolerance():
    graph, feeds = recurrent("LSTM", H=16, direction="bidirectional", init=True)
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)
    for g, e in zip(sess.run(None, feeds), expected):
        np.testing.assert_allclose(g, e, rtol=4e-3, atol=1e-3)
    assert "lstm_seq8_f32" in launched(sess)


def test_switch_off_takes_the_one_unit_kernel(monkeypatch):
    monkeypatch.setattr(recurrent_kernels, "UNITS8", False)
    graph, feeds = recurrent("LSTM", H=16)
    sess = check_against_reference(graph, feeds, rtol=1e-5, atol=1e-6)
    assert "lstm_seq_f32" in launched(sess) and "lstm_seq8_f32" not in launched(sess)
