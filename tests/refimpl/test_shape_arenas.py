"""Arenas per input shape (refimpl/shape_arenas.py): a Program whose inputs have symbolic dims
plans an arena for the shapes of each run, keeps a few, and runs every shape correctly."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl import shape_arenas
from gossamer.refimpl.arena import output_array
from gossamer.refimpl.interpreter import Override, Program
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.memory_plan import plan_memory

WRITES: list[np.ndarray] = []


def _relu(x: np.ndarray) -> np.ndarray:
    y = output_array(x.shape, x.dtype)
    np.maximum(x, 0, out=y)
    WRITES.append(y)
    return y


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    y = output_array(np.broadcast_shapes(a.shape, b.shape), a.dtype)
    np.add(a, b, out=y)
    WRITES.append(y)
    return y


def _graph(shape: tuple) -> Graph:
    """x -> Relu -> Add(x) -> Relu -> Add(c) -> y; x of `shape` (symbolic dims allowed)."""
    nodes = [
        Node("Relu", ["x"], ["a"], name="r1"),
        Node("Add", ["a", "x"], ["b"], name="a1"),
        Node("Relu", ["b"], ["c"], name="r2"),
        Node("Add", ["c", "k"], ["y"], name="a2"),
    ]
    return Graph(nodes, [Value("x", "float32", shape)], [Value("y", "float32", shape)],
                 initializers={"k": np.float32(0.5) * np.ones(1, np.float32)}, name="sym",
                 opsets={"": 17})  # fmt: skip


def _program(graph: Graph) -> Program:
    overrides = {
        n.name: Override(_relu if n.op_type == "Relu" else _add, "test") for n in graph.nodes
    }
    return Program(graph, overrides=overrides, memory_plan=plan_memory(graph))


def _want(x: np.ndarray) -> np.ndarray:
    a = np.maximum(x, 0)
    return np.maximum(a + x, 0) + np.float32(0.5)


def test_a_symbolic_graph_gets_an_arena_per_input_shape():
    program = _program(_graph(("N", 8)))
    assert program.arena is None and program.shape_arenas is not None
    rng = np.random.default_rng(0)
    for i, n in enumerate((3, 5, 3, 3, 5)):
        x = rng.standard_normal((n, 8)).astype(np.float32)
        WRITES.clear()
        y = program.run({"x": x})["y"]
        assert y.tobytes() == _want(x).tobytes()
        if i < 2:  # a shape's first run: node by node, no arena planned for it yet
            assert ((n, 8),) not in program.shape_arenas.variants
            continue
        variant = program.shape_arenas.variants[((n, 8),)]
        assert variant is not None and variant.arena is not None
        assert any(np.shares_memory(w, variant.arena.buffer) for w in WRITES)
        assert not np.shares_memory(y, variant.arena.buffer)  # the caller's own array
    assert set(program.shape_arenas.variants) == {((3, 8),), ((5, 8),)}
    assert program.shape_arenas.plans_made == 2  # each shape planned once


def test_a_static_graph_plans_once_at_load():
    program = _program(_graph((4, 8)))
    assert program.arena is not None and program.shape_arenas is None


def test_the_least_recently_used_shapes_are_dropped(monkeypatch):
    monkeypatch.setattr(shape_arenas, "MAX_VARIANTS", 2)
    program = _program(_graph(("N", 8)))
    for n in (1, 1, 2, 2, 1, 3, 3):  # (planned on a second run) 2 is the least recently used
        x = np.full((n, 8), -1.0, np.float32)
        assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert set(program.shape_arenas.variants) == {((1, 8),), ((3, 8),)}


def test_arenas_over_the_limit_are_not_kept():
    program = _program(_graph(("N", 8)))
    program.set_arena_limit(1024)  # one tensor of 64 x 8 floats takes 2 KiB
    x = np.ones((64, 8), np.float32)
    for _ in range(2):  # (the first run plans nothing)
        assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert program.shape_arenas.variants == {((64, 8),): None}  # runs without an arena


def test_too_many_shapes_stop_the_planning(monkeypatch):
    monkeypatch.setattr(shape_arenas, "MAX_PLANS", 3)
    program = _program(_graph(("N", 8)))
    for n in range(1, 7):
        x = np.full((n, 8), 2.0, np.float32)
        assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert program.shape_arenas.plans_made == 3
    assert len(program.shape_arenas.variants) == 3


def test_observers_and_keep_all_run_without_a_variant():
    program = _program(_graph(("N", 8)))
    x = np.ones((2, 8), np.float32)
    env = program.run({"x": x}, keep_all=True)
    assert set("abcy") <= set(env)
    assert program.shape_arenas.variants == {}


@pytest.mark.parametrize("shape", [("N", 8), (None, 8)])
def test_symbolic_and_unknown_dims_both_plan(shape):
    program = _program(_graph(shape))
    x = np.ones((2, 8), np.float32)
    for _ in range(2):  # (the first run plans nothing)
        assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert program.shape_arenas.variants[((2, 8),)] is not None


def test_a_sessions_runs_at_new_shapes_infer_nothing(monkeypatch):
    """The first run at a shape infers nothing (its size checks evaluate the declared shapes'
    inference at its dims: memory_budget.RunSizes), nor does the second, whose arena plan takes
    the same evaluated shapes (RunSizes.values_at); later runs infer nothing."""
    from gossamer.refimpl.shape_inference import core

    import gossamer

    sess = gossamer.load(_graph(("N", 3)), backends=["cython"], optimize=0)
    assert sess._program.shape_arenas is not None  # an arena planned per input shape
    inferred = []
    real = core.infer_graph
    monkeypatch.setattr(core, "infer_graph", lambda g, *a: inferred.append(g) or real(g, *a))
    x = np.arange(-6, 6, dtype=np.float32).reshape(4, 3)
    want = np.maximum(np.maximum(x, 0) + x, 0) + 0.5
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], want)
    np.testing.assert_allclose(sess.run(None, {"x": x[:2]})[0], want[:2])
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], want)  # its arena plan
    assert sess._program.shape_arenas.variants[((4, 3),)].arena is not None
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], want)  # on its arena
    assert len(inferred) == 0
    assert core.derived_graphs() is None  # the memo lives only during such a run


def test_an_arena_plan_infers_the_shapes_the_declared_ones_do_not_give(monkeypatch):
    """A tensor whose size the declared shapes leave unknown (NonZero's count): the first run's
    size checks infer its shape once, and the arena plan at the second run infers again."""
    from gossamer.refimpl.shape_inference import core

    import gossamer

    graph = _graph(("N", 3))
    graph = Graph([*graph.nodes, Node("NonZero", ["y"], ["nz"], name="nz")], graph.inputs,
                  [*graph.outputs, Value("nz", "int64", None)], initializers=graph.initializers,
                  name="sym", opsets={"": 17})  # fmt: skip
    sess = gossamer.load(graph, backends=["cython"], optimize=0)
    inferred = []
    real = core.infer_graph
    monkeypatch.setattr(  # the model's inferences (the NonZero's size guard infers its own)
        core, "infer_graph", lambda g, *a: inferred.append(g.name) or real(g, *a)
    )
    x = np.arange(-6, 6, dtype=np.float32).reshape(4, 3)
    first = sess.run(None, {"x": x})
    assert inferred.count("sym") == 1  # the size checks
    second = sess.run(None, {"x": x})
    assert inferred.count("sym") == 2  # the arena plan
    sess.run(None, {"x": x})
    assert inferred.count("sym") == 2
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def _deferred(graph: Graph, made: list, shapes: dict | None = None) -> Program:
    """_program with the declared shapes' plan deferred (as plugins.executor builds it);
    `shapes` fixes dims in that plan (one with an arena to check)."""
    overrides = {
        n.name: Override(_relu if n.op_type == "Relu" else _add, "test") for n in graph.nodes
    }
    return Program(graph, overrides=overrides,
                   plan_later=lambda: made.append(1) or plan_memory(graph, shapes))  # fmt: skip


def test_the_declared_shapes_plan_waits_for_a_run_that_needs_it(monkeypatch):
    made: list = []
    program = _deferred(_graph(("N", 8)), made)
    assert program.plan_pending and program.arena is None and not made  # nothing at load
    x = np.full((3, 8), -2.0, np.float32)
    for _ in range(2):  # the first run: no arena; the second plans the shape's own
        assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
        assert program.plan_pending and not made
    monkeypatch.setattr(shape_arenas, "MAX_PLANS", 1)  # a new shape gets none now
    x = np.full((5, 8), 1.5, np.float32)
    assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert made == [1] and not program.plan_pending
    assert program.shape_arenas is not None  # planning it kept the per-shape arenas
    assert set(program.shape_arenas.variants) == {((3, 8),)}
    program.run({"x": x})
    assert made == [1]  # planned once


def test_a_static_graph_makes_its_deferred_plan_at_once():
    made: list = []
    program = _deferred(_graph((4, 8)), made)
    assert made == [1] and not program.plan_pending and program.arena is not None


def test_a_deferred_plan_the_arena_check_refuses_binds_nothing(monkeypatch):
    from gossamer.refimpl.errors import MemoryBudgetError

    made: list = []
    program = _deferred(_graph(("N", 8)), made, {"x": (2, 8)})
    monkeypatch.setattr(shape_arenas, "MAX_PLANS", 0)

    def refuse(nbytes: int) -> None:
        raise MemoryBudgetError(f"arena of {nbytes} bytes", nbytes=nbytes, budget=1)

    program.arena_check = refuse
    x = np.ones((2, 8), np.float32)
    with pytest.raises(MemoryBudgetError):
        program.run({"x": x})
    assert program.plan_pending and program.arena is None
    program.arena_check = None
    assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert not program.plan_pending and program.arena is not None


def test_observers_and_keep_all_do_not_make_the_deferred_plan():
    made: list = []
    program = _deferred(_graph(("N", 8)), made)
    program.run({"x": np.ones((2, 8), np.float32)}, keep_all=True)
    assert program.plan_pending and not made


def test_a_shapes_first_run_plans_nothing_and_its_second_plans_its_arena():
    program = _program(_graph(("N", 8)))
    x = np.full((3, 8), -1.5, np.float32)
    WRITES.clear()
    assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert program.shape_arenas.variants == {} and program.shape_arenas.plans_made == 0
    assert program.arena is None  # nor the declared shapes' arena
    assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert program.shape_arenas.plans_made == 1
    assert program.shape_arenas.variants[((3, 8),)].arena is not None


def test_after_max_plans_sightings_a_new_shape_is_planned_at_its_first_run(monkeypatch):
    monkeypatch.setattr(shape_arenas, "MAX_PLANS", 2)
    program = _program(_graph(("N", 8)))
    for n in (1, 2):
        program.run({"x": np.ones((n, 8), np.float32)})
    assert program.shape_arenas.plans_made == 0
    x = np.ones((3, 8), np.float32)
    assert program.run({"x": x})["y"].tobytes() == _want(x).tobytes()
    assert program.shape_arenas.plans_made == 1 and ((3, 8),) in program.shape_arenas.variants
