"""Session state (Graph.state): kept between runs, hidden from feeds and outputs, written back only
after a run that succeeded, reset, read and set by name, never shared between sessions."""

import threading

import numpy as np
import pytest
from gossamer.refimpl.errors import GraphValidationError, InputError, NodeExecutionError
from gossamer.refimpl.ir import Graph, Node, StateBinding, Value

import gossamer
from gossamer.session import Session


def counter_graph(initial: np.ndarray | None = None) -> Graph:
    """acc' = acc + x; y = reshape(acc', shape) (a bad shape fails the run after acc' exists)."""
    return Graph(
        nodes=[
            Node("Add", ["acc", "x"], ["acc_new"], name="add"),
            Node("Reshape", ["acc_new", "shape"], ["y"], name="reshape"),
        ],
        inputs=[
            Value("x", "float32", (2,)),
            Value("shape", "int64", (1,)),
            Value("acc", "float32", (2,)),
        ],
        outputs=[Value("y", "float32", None), Value("acc_new", "float32", (2,))],
        state=[StateBinding("acc", "acc", "acc_new", initial)],
    )


def _run(sess: Session, x: float, shape: int = 2) -> np.ndarray:
    return sess.run(None, {"x": np.full(2, x, np.float32), "shape": np.array([shape])})[0]


def test_state_inputs_and_outputs_are_not_the_users():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    assert [v.name for v in sess.inputs] == ["x", "shape"]
    assert [v.name for v in sess.outputs] == ["y"]
    assert len(sess.run(None, {"x": np.ones(2, np.float32), "shape": np.array([2])})) == 1


def test_state_accumulates_over_runs_and_resets():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    assert [_run(sess, 1.0)[0], _run(sess, 2.0)[0], _run(sess, 3.0)[0]] == [1.0, 3.0, 6.0]
    np.testing.assert_array_equal(sess.state["acc"], [6.0, 6.0])
    sess.reset_state()
    np.testing.assert_array_equal(sess.state["acc"], [0.0, 0.0])
    assert _run(sess, 5.0)[0] == 5.0


def test_a_failing_run_leaves_the_state_unchanged():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    _run(sess, 1.0)
    with pytest.raises(NodeExecutionError):
        _run(sess, 10.0, shape=3)  # Reshape fails after Add computed the new value
    np.testing.assert_array_equal(sess.state["acc"], [1.0, 1.0])
    assert _run(sess, 1.0)[0] == 2.0


def test_sessions_of_one_graph_keep_separate_state():
    graph = counter_graph(np.zeros(2, np.float32))
    a, b = Session(graph), Session(graph)
    _run(a, 4.0)
    assert _run(b, 1.0)[0] == 1.0
    np.testing.assert_array_equal(graph.state[0].initial, [0.0, 0.0])  # never written into


def test_state_values_are_copies():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    x = np.ones(2, np.float32)
    sess.run(None, {"x": x, "shape": np.array([2])})
    sess.state["acc"][:] = 100.0
    x[:] = 50.0
    np.testing.assert_array_equal(sess.state["acc"], [1.0, 1.0])


def test_set_state_checks_names_dtypes_and_shapes():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    sess.set_state({"acc": np.array([10.0, 20.0], np.float32)})
    np.testing.assert_array_equal(_run(sess, 1.0), [11.0, 21.0])
    with pytest.raises(InputError, match="no state"):
        sess.set_state({"nope": np.zeros(2, np.float32)})
    with pytest.raises(InputError, match="dtype float32"):
        sess.set_state({"acc": np.zeros(2, np.int32)})
    with pytest.raises(InputError, match="axis 0 must be 2"):
        sess.set_state({"acc": np.zeros(3, np.float32)})


def test_a_state_without_a_value_fails_until_set():
    sess = Session(counter_graph(None))
    assert sess.state == {"acc": None}
    with pytest.raises(InputError, match="reads state 'acc' before"):
        _run(sess, 1.0)
    sess.set_state({"acc": np.ones(2, np.float32)})
    assert _run(sess, 1.0)[0] == 2.0


def test_state_cannot_be_fed_or_fetched():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    feeds = {"x": np.ones(2, np.float32), "shape": np.array([2])}
    with pytest.raises(InputError, match="no input"):
        sess.run(None, {**feeds, "acc": np.ones(2, np.float32)})
    with pytest.raises(InputError, match="not outputs"):
        sess.run(["acc_new"], feeds)


def test_concurrent_runs_each_see_and_write_the_state_once():
    sess = Session(counter_graph(np.zeros(2, np.float32)))
    threads = [
        threading.Thread(target=lambda: [_run(sess, 1.0) for _ in range(20)]) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(sess.state["acc"], [40.0, 40.0])


def test_state_survives_the_optimiser():
    sess = gossamer.load(counter_graph(np.zeros(2, np.float32)), optimize=3)
    assert [b.name for b in sess.graph.state] == ["acc"]
    _run(sess, 1.0)
    assert _run(sess, 1.0)[0] == 2.0


@pytest.mark.parametrize(
    "binding, message",
    [
        (StateBinding("s", "x_missing", None), "not a graph input"),
        (StateBinding("s", None, "nope"), "not a graph output"),
        (StateBinding("s", None, None), "neither an input nor an output"),
        (StateBinding("s", "acc", None, np.zeros(2, np.int32)), "initial value is int32"),
    ],
)
def test_invalid_state_bindings_are_refused(binding, message):
    graph = counter_graph()
    graph.state = [binding]
    with pytest.raises(GraphValidationError, match=message):
        graph.validate()


def test_two_states_on_one_input_are_refused():
    graph = counter_graph()
    graph.state = [StateBinding("a", "acc", None), StateBinding("b", "acc", None)]
    with pytest.raises(GraphValidationError, match="carries two states"):
        graph.validate()


def test_inference_session_hides_state_and_resets_it():
    sess = gossamer.InferenceSession(counter_graph(np.zeros(2, np.float32)))
    assert [i.name for i in sess.get_inputs()] == ["x", "shape"]
    assert [o.name for o in sess.get_outputs()] == ["y"]
    feeds = {"x": np.ones(2, np.float32), "shape": np.array([2])}
    sess.run(None, feeds)
    assert sess.run(None, feeds)[0][0] == 2.0
    sess.reset_state()
    assert sess.run(None, feeds)[0][0] == 1.0
