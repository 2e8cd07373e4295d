"""Arena execution (refimpl/arena.py): kernels write into the planned arena, runs stay correct.

A test backend's Relu/Add/Mul kernels take their outputs from `output_array`; the reference runs
everything else (Transpose returns a numpy view, Reshape a view, Loop a nested program).
"""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest
from gossamer.plugins import KernelBackend, kernel
from gossamer.refimpl.arena import output_array, set_outputs
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_mul import mul_7
from gossamer.refimpl.ops.op_relu import relu_6

from gossamer.session import Session

WRITES: list[np.ndarray] = []  # every array the kernels wrote into, in order


class ArenaKernels(KernelBackend):
    name = "arena_test"
    priority = 50

    @kernel(relu_6, dtypes={"float32"})
    def relu(x):
        y = output_array(x.shape, x.dtype)
        np.maximum(x, 0, out=y)
        WRITES.append(y)
        return y

    @kernel(add_7, dtypes={"float32"})
    def add(a, b):
        y = output_array(np.broadcast_shapes(a.shape, b.shape), a.dtype)
        np.add(a, b, out=y)
        WRITES.append(y)
        return y

    @kernel(mul_7, dtypes={"float32"})
    def mul(a, b):
        y = output_array(np.broadcast_shapes(a.shape, b.shape), a.dtype)
        np.multiply(a, b, out=y)
        WRITES.append(y)
        return y


def _t(name: str, shape) -> Value:
    return Value(name, "float32", tuple(shape))


def _graph(nodes, inputs, outputs, inits=None) -> Graph:
    return Graph(nodes=nodes, inputs=inputs, outputs=outputs, opsets={"": 17},
                 initializers=inits or {})  # fmt: skip


def _view_graph() -> Graph:
    """relu -> a; Split(a) -> v, w (reference views of an arena tensor); then tensors that reuse a's
    buffer once a is dead; then v + w; and a Reshape view of an intermediate as a graph output."""
    shape = (64, 64)
    return _graph(
        [
            Node("Relu", ["x"], ["a"], name="r1"),
            Node("Split", ["a", "halves"], ["v", "w"], name="sp", attrs={"axis": 0}),
            Node("Mul", ["x", "x"], ["b"], name="m1"),
            Node("Relu", ["b"], ["c"], name="r2"),
            Node("Add", ["c", "c"], ["d"], name="a1"),
            Node("Add", ["v", "w"], ["e"], name="a2"),
            Node("Relu", ["e"], ["f"], name="r3"),
            Node("Reshape", ["f", "shape"], ["y"], name="rs"),
            Node("Relu", ["d"], ["z"], name="r4"),
        ],
        [_t("x", shape)],
        [_t("y", (2048,)), _t("z", shape)],
        {"shape": np.array([2048], np.int64), "halves": np.array([32, 32], np.int64)},
    )


@pytest.fixture
def arena_backend(use_backends):
    use_backends(ArenaKernels())
    WRITES.clear()


def _expected(graph: Graph, feeds):
    return Session(graph, backends=["reference"]).run(None, feeds)


def test_kernels_write_into_the_arena_and_results_match_the_reference(arena_backend):
    graph = _view_graph()
    session = Session(graph, backends=["arena_test"])
    arena = session._program.arena
    assert arena is not None and arena.nbytes > 0
    x = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    want = _expected(graph, {"x": x})
    for _ in range(3):
        WRITES.clear()
        got = session.run(None, {"x": x})
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        in_arena = [w for w in WRITES if np.shares_memory(w, arena.buffer)]
        assert len(in_arena) >= 4  # a, b, c, d, e, f are planned; the output z is not


def test_outputs_never_alias_the_arena_or_each_other_across_runs(arena_backend):
    graph = _view_graph()
    session = Session(graph, backends=["arena_test"])
    rng = np.random.default_rng(1)
    x1, x2 = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    first = session.run(None, {"x": x1})
    kept = [a.copy() for a in first]
    session.run(None, {"x": x2})
    for a, k in zip(first, kept):  # the second run did not overwrite what the first returned
        np.testing.assert_array_equal(a, k)
        assert not np.shares_memory(a, session._program.arena.buffer)


def test_no_allocation_per_run_after_the_first(arena_backend):
    shape = (256, 256)  # 256 KiB per tensor
    nodes = [Node("Relu", ["x"], ["t0"], name="r0")]
    for i in range(8):
        nodes.append(Node("Add" if i % 2 else "Mul", [f"t{i}", "x"], [f"t{i + 1}"], name=f"n{i}"))
    nodes.append(Node("Relu", ["t8"], ["y"], name="out"))
    graph = _graph(nodes, [_t("x", shape)], [_t("y", shape)])
    session = Session(graph, backends=["arena_test"])
    x = np.ones(shape, np.float32)
    session.run(None, {"x": x})
    tracemalloc.start()
    try:
        session.run(None, {"x": x})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # only the graph output is new: one 256 KiB tensor (without the arena: two or more live)
    assert peak < 1.5 * 256 * 256 * 4, peak


def test_keep_all_and_observers_bypass_the_arena(arena_backend):
    graph = _view_graph()
    session = Session(graph, backends=["arena_test"])
    x = np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32)
    env = session._program.run({"x": x}, keep_all=True)
    ref = Session(graph, backends=["reference"])._program.run({"x": x}, keep_all=True)
    for name in ("a", "v", "w", "b", "c", "d", "e", "f", "z"):  # intermediates intact after the run
        np.testing.assert_array_equal(env[name], ref[name])


def test_a_second_thread_runs_outside_the_busy_arena(arena_backend):
    graph = _view_graph()
    session = Session(graph, backends=["arena_test"])
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((64, 64)).astype(np.float32) for _ in range(4)]
    want = [_expected(graph, {"x": x}) for x in xs]
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(50):
            got = session.run(None, {"x": xs[k]})
            if not all(np.array_equal(g, w) for g, w in zip(got, want[k])):
                errors.append(f"thread {k}: wrong result")
                return

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_nested_run_never_sees_the_host_steps_outputs(arena_backend):
    """A program run inside a running step (a body, a partition) must not be handed the host
    step's planned outputs: its kernels would write over them."""
    shape = (8,)
    graph = _graph(
        [Node("Mul", ["x", "x"], ["s"], name="m"), Node("Add", ["s", "x"], ["y"], name="a")],
        [_t("x", shape)],
        [_t("y", shape)],
    )
    program = Session(graph, backends=["arena_test"])._program
    program.arena = None
    host = np.zeros(shape, np.float32)
    previous = set_outputs((host,))
    try:
        program.run({"x": np.ones(shape, np.float32)})
    finally:
        set_outputs(previous)
    assert WRITES and not any(np.shares_memory(w, host) for w in WRITES)


def test_output_array_outside_a_run_allocates():
    a = output_array((3, 4))
    assert a.shape == (3, 4) and a.dtype == np.float32
    assert output_array((3, 4)) is not a
