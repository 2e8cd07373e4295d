"""Segments (cython_kernels/segments.py, src/plan.h): runs of cython steps replayed by one call
into C give the node-by-node results bit for bit; observers, changed shapes, declining kernels,
temporaries and a second thread fall back to node by node."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from gossamer.cython_kernels import segments
from gossamer.plugins.run_context import current_threads, using_threads
from gossamer.refimpl.errors import RuntimeDecline
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer
from tests.conftest import MODELS_DIR


def _chain(nodes: int = 12, size: int = 16) -> Graph:
    """x -> Relu -> Add(c) -> Mul(x) -> Sigmoid -> ... (every third node reads the graph input)."""
    ops: list[Node] = []
    prev = "x"
    for i in range(nodes):
        out = "y" if i == nodes - 1 else f"t{i}"
        kind = i % 4
        if kind == 0:
            ops.append(Node("Relu", [prev], [out], name=f"n{i}"))
        elif kind == 1:
            ops.append(Node("Add", [prev, "c"], [out], name=f"n{i}"))
        elif kind == 2:
            ops.append(Node("Mul", [prev, "x"], [out], name=f"n{i}"))
        else:
            ops.append(Node("Sigmoid", [prev], [out], name=f"n{i}"))
        prev = out
    c = np.linspace(-1, 1, size, dtype=np.float32)
    return Graph(ops, [Value("x", "float32", (size,))], [Value("y", "float32", (size,))],
                 initializers={"c": c}, name="chain", opsets={"": 17})  # fmt: skip


def _pair(graph: Graph) -> tuple[gossamer.Session, gossamer.Session]:
    fast = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    slow = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    slow._program.use_segments = False  # node by node (in its arenas per input shape too)
    return fast, slow


def _segments(session: gossamer.Session) -> list[Any]:
    """The program's segments, with those of its arenas per input shape (symbolic dims)."""
    programs = [session._program]
    if session._program.shape_arenas is not None:
        programs += [v for v in session._program.shape_arenas.variants.values() if v is not None]
    return [seg for p in programs for _, _, seg, _ in p.schedule or () if seg is not None]


def test_chain_runs_as_one_segment_and_equals_node_by_node():
    fast, slow = _pair(_chain())
    rng = np.random.default_rng(0)
    for _ in range(6):
        x = rng.standard_normal(16, dtype=np.float32)
        (a,), (b,) = fast.run(None, {"x": x}), slow.run(None, {"x": x})
        assert a.tobytes() == b.tobytes()
    (seg,) = _segments(fast)
    assert (seg.start, seg.stop) == (0, 12)
    assert not _segments(slow)


def test_outputs_are_the_callers_own_arrays():
    fast, _ = _pair(_chain())
    x = np.ones(16, np.float32)
    outs = [fast.run(None, {"x": x})[0] for _ in range(4)]
    assert _segments(fast)
    outs[2][...] = 7.0  # a returned array is never the segment's buffer
    assert not np.shares_memory(outs[2], outs[3])
    assert np.array_equal(fast.run(None, {"x": x})[0], outs[3])


def test_observer_sees_every_node_and_the_same_result():
    fast, slow = _pair(_chain())
    x = np.linspace(-3, 3, 16, dtype=np.float32)
    for _ in range(3):
        fast.run(None, {"x": x})
    assert _segments(fast)
    seen: list[str] = []

    class Watch:
        def before_node(self, node, inputs):  # noqa: ANN001, ANN202
            pass

        def after_node(self, node, inputs, outputs):  # noqa: ANN001, ANN202
            seen.append(node.name)

    env = fast._program.run({"x": x}, observers=[Watch()])
    assert seen == [f"n{i}" for i in range(12)]
    assert env["y"].tobytes() == slow.run(None, {"x": x})[0].tobytes()


def test_a_segment_refuses_values_it_was_not_built_for():
    fast, _ = _pair(_chain())
    x = np.ones(16, np.float32)
    for _ in range(3):
        fast.run(None, {"x": x})
    (seg,) = _segments(fast)
    for bad in (np.ones(8, np.float32), np.ones(16, np.float64), np.ones(32, np.float32)[::2],
                [1.0] * 16):  # fmt: skip
        env: dict[str, Any] = {"x": bad}
        assert seg.run(env) is False
        assert set(env) == {"x"}  # nothing written
    seg.threads = current_threads()  # as inside the session
    env = {"x": x.copy()}
    assert seg.run(env) and "y" in env


def test_changed_thread_count_runs_node_by_node():
    fast, slow = _pair(_chain())
    x = np.full(16, 0.5, np.float32)
    for _ in range(3):
        fast.run(None, {"x": x})
    (seg,) = _segments(fast)
    env = {"x": x}
    assert seg.run(env) is False  # outside the session: its thread count is not current
    assert fast._program.run({"x": x})["y"].tobytes() == slow.run(None, {"x": x})[0].tobytes()


def test_another_thread_count_records_its_own_segments():
    fast, slow = _pair(_chain())
    x = np.full(16, 0.25, np.float32)
    want = slow.run(None, {"x": x})[0].tobytes()
    program = fast._program
    for threads in (1, 2, 1, 2, 2, 1):  # each count: its first run packs, its second records
        with using_threads(threads):
            assert program.run({"x": x})["y"].tobytes() == want
    for threads in (2, 1):
        with using_threads(threads):
            assert program.run({"x": x})["y"].tobytes() == want
            (seg,) = _segments(fast)
            assert seg.threads == threads


def test_a_declining_kernel_is_left_out_of_segments():
    graph = _chain()
    fast, slow = _pair(graph)
    step = fast._program._steps[5]
    real = step.impl
    calls = [0]

    def declining(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= 3:
            raise RuntimeDecline("test: declines its first calls")
        return real(*args, **kwargs)

    declining.traceable = True  # type: ignore[attr-defined]
    step.impl = declining
    rng = np.random.default_rng(1)
    for _ in range(6):
        x = rng.standard_normal(16, dtype=np.float32)
        assert fast.run(None, {"x": x})[0].tobytes() == slow.run(None, {"x": x})[0].tobytes()
    spans = [(s.start, s.stop) for s in _segments(fast)]
    assert spans == [(0, 5), (6, 12)]  # the step that declined while recorded runs in Python
    assert fast.runtime_fallbacks["n5"][0] == 3


def test_numpy_work_in_a_traceable_kernel_splits_the_segment():
    fast, slow = _pair(_chain())
    step = fast._program._steps[3]
    real = step.impl

    def numpy_sigmoid(x: np.ndarray) -> np.ndarray:
        segments.numpy_work()
        return real(x)

    numpy_sigmoid.traceable = True  # type: ignore[attr-defined]
    step.impl = numpy_sigmoid
    x = np.linspace(-1, 1, 16, dtype=np.float32)
    for _ in range(3):
        assert fast.run(None, {"x": x})[0].tobytes() == slow.run(None, {"x": x})[0].tobytes()
    assert [(s.start, s.stop) for s in _segments(fast)] == [(0, 3), (4, 12)]


def test_the_self_check_drops_a_segment_that_differs_from_node_by_node(caplog):
    fast, slow = _pair(_chain())
    step = fast._program._steps[6]
    real = step.impl

    def lying(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        out += 1.0  # numpy work the kernel does not declare: a replay would miss it
        return out

    lying.traceable = True  # type: ignore[attr-defined]
    step.impl = lying
    x = np.linspace(-1, 1, 16, dtype=np.float32)
    want = slow.run(None, {"x": x})[0]
    for _ in range(4):
        got = fast.run(None, {"x": x})[0]
    assert not np.array_equal(got, want)  # the lie itself is kept: node by node runs it
    assert not _segments(fast)
    assert "differs from node-by-node" in caplog.text
    reasons = segments.split_reasons(fast._program)
    assert reasons["n6 (Mul)"] == "its segment failed the self-check"
    assert fast.run(None, {"x": x})[0].tobytes() == got.tobytes()


def test_recording_keeps_copies_only_of_values_a_segment_may_read(monkeypatch):
    held: list[int] = []
    release = segments.Recorder._release

    def tracked(self: segments.Recorder, index: int, node: Node) -> None:
        release(self, index, node)
        held.append(self.snapped)

    monkeypatch.setattr(segments.Recorder, "_release", tracked)
    fast, slow = _pair(_chain(24, 4096))
    x = np.linspace(-1, 1, 4096, dtype=np.float32)
    for _ in range(3):
        assert fast.run(None, {"x": x})[0].tobytes() == slow.run(None, {"x": x})[0].tobytes()
    (seg,) = _segments(fast)
    assert (seg.start, seg.stop) == (0, 24)
    assert len(held) == 24
    assert max(held) <= 2 * 4096 * 4  # the graph input and the newest value, not all 25


def test_segments_off_by_environment(monkeypatch):
    monkeypatch.setenv("GOSSAMER_SEGMENTS", "0")
    fast, _ = _pair(_chain())
    for _ in range(3):
        fast.run(None, {"x": np.ones(16, np.float32)})
    assert not _segments(fast)


def test_two_threads_running_one_session():
    fast, slow = _pair(_chain(24, 64))
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(64, dtype=np.float32) for _ in range(8)]
    want = [slow.run(None, {"x": x})[0].tobytes() for x in xs]
    errors: list[str] = []

    def work(offset: int) -> None:
        for k in range(200):
            i = (k + offset) % len(xs)
            if fast.run(None, {"x": xs[i]})[0].tobytes() != want[i]:
                errors.append(f"thread {offset} run {k}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _segments(fast)


# ---- real models ---------------------------------------------------------------------------------


def _feeds(session: gossamer.Session, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for v in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in v.shape]
        dt = np.dtype(v.dtype)
        out[v.name] = (rng.standard_normal(shape) if dt.kind == "f" else
                       rng.integers(-100, 100, shape)).astype(dt)  # fmt: skip
    return out


@pytest.mark.parametrize(
    "name, least",
    [("mww_okay_nabu_int8.tflite", 42), ("silero_vad_v6_16k_sequence.onnx", 10)],
)
def test_real_model_segments_equal_node_by_node(name, least, monkeypatch):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{path} is not cached")
    if name.endswith(".tflite"):
        pytest.importorskip("tflite")
    fast = gossamer.load(str(path), backends=["cython"], threads=1)
    slow = gossamer.load(str(path), backends=["cython"], threads=1)
    rng = np.random.default_rng(3)
    for _ in range(5):  # stateful models carry their state through both
        feeds = _feeds(fast, rng)
        with monkeypatch.context() as m:  # node by node (also in arenas planned per shape)
            m.setenv("GOSSAMER_SEGMENTS", "0")
            want = slow.run(None, feeds)
        for a, b in zip(fast.run(None, feeds), want):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert not _segments(slow)
    covered = sum(len(s) for s in _segments(fast))
    assert covered >= least
