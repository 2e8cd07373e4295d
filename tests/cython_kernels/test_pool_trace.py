"""The thread pool's call trace (ext.pool_trace) and its early wake-up (gk_pool_prewake, called
through segments.run_starts as every run of a cython Program begins)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import segments
from gossamer.cython_kernels._native import ext

import gossamer

from ._helpers import one_node


def _fields(events: list[tuple]) -> list[dict]:
    names = ext().POOL_TRACE_FIELDS
    return [dict(zip(names, e, strict=True)) for e in events]


def test_the_trace_records_each_pooled_call_and_who_ran_its_chunks():
    ext().threads_start(2)
    ext().pool_trace(True)
    for _ in range(3):
        ext().pool_check(40, 2, 20)
    events = _fields(ext().pool_trace(False))
    assert len(events) == 3
    for e in events:
        assert e["chunks"] == 40 and e["threads"] in (1, 2)
        assert 0 <= e["mine"] <= 40 and e["start"] <= e["end"]
        assert e["joined"] == 0 or e["start"] <= e["joined"] <= e["end"]
        assert e["mine"] == 40 or e["joined"] > 0  # a chunk the caller did not run: a worker's
        assert e["start"] <= e["idle"] <= e["end"]
    ext().pool_check(40, 2, 0)  # traced no more: the trace is off
    assert len(ext().pool_trace(False)) == 3


def test_the_trace_times_every_chunk_of_a_traced_call():
    ext().threads_start(2)
    ext().pool_trace(True)
    ext().pool_check(24, 2, 50)
    ext().pool_check(5, 1, 0)  # one thread asked for: not traced, no durations taken
    ext().pool_check(10, 2, 0)
    events = _fields(ext().pool_trace(False))
    assert [e["chunks"] for e in events] == [24, 10]
    assert events[0]["first"] == 0 and events[1]["first"] == 24
    busy = ext().pool_trace_chunks(events[0]["first"], 24)
    assert busy.shape == (24,) and busy.dtype == np.float32
    assert (busy >= 40e3).all()  # each chunk spins about 50 us, whoever ran it
    assert (ext().pool_trace_chunks(events[1]["first"], 10) >= 0).all()
    assert ext().pool_trace_chunks(-1, 10).size == 0  # an event whose durations were not kept


def test_the_trace_marks_when_the_caller_began_waiting_for_started_chunks():
    """`idle`: when the calling thread found no chunk left to claim (it waited for the workers'
    started chunks from then to `end`): after every chunk it ran itself (each spins 3 ms)."""
    ext().threads_start(2)
    ext().pool_trace(True)
    for _ in range(3):
        ext().pool_check(3, 2, 3000)
    events = _fields(ext().pool_trace(False))
    assert len(events) == 3
    for e in events:
        assert e["start"] <= e["idle"] <= e["end"]
        assert e["idle"] - e["start"] >= e["mine"] * 3e6


def test_the_trace_is_off_by_default_and_cleared_when_turned_on():
    ext().pool_trace(False)
    ext().pool_check(10, 2, 0)
    ext().pool_trace(True)
    assert ext().pool_trace(False) == []


def test_one_thread_calls_are_not_traced():
    ext().pool_trace(True)
    ext().pool_check(10, 1, 0)
    assert ext().pool_trace(False) == []


@pytest.mark.parametrize("threads", [1, 2, 8])
def test_prewake_leaves_every_call_correct(threads):
    ext().threads_start(2)
    for _ in range(20):
        ext().pool_prewake(threads)
        bad, by_caller, by_workers, _, max_seat = ext().pool_check(64, 2, 2)
        assert bad == 0 and by_caller + by_workers == 64 and max_seat < 2


def test_every_run_of_a_cython_program_begins_with_run_starts(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(segments, "_PREWAKE", calls.append)
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    sess = gossamer.load(one_node("Relu", {"x": x}, {}), backends=["cython"], threads=2)
    for _ in range(3):
        (y,) = sess.run(None, {"x": x})
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert calls == [2, 2, 2]


def test_a_loop_body_does_not_wake_the_pool_again(monkeypatch):
    """A Loop's body runs inside a run that already woke the pool: one wake-up per run, not one
    per iteration."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    calls: list[int] = []
    monkeypatch.setattr(segments, "_PREWAKE", calls.append)
    body = helper.make_graph(
        [
            helper.make_node("Relu", ["acc_in"], ["acc_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [4]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [4]),
        ],
    )
    graph = helper.make_graph(
        [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Loop", ["n", "", "r"], ["y"], body=body),
        ],
        "loop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [helper.make_tensor("n", TensorProto.INT64, [], [5])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    sess = gossamer.load(model, backends=["cython"], threads=2, optimize=0)
    x = np.array([-1, 2, -3, 4], np.float32)
    for _ in range(2):
        (y,) = sess.run(None, {"x": x})
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert calls == [2, 2]
