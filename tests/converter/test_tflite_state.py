"""TFLite state and control flow against LiteRT: resource variables kept across runs, CALL_ONCE
initialisation, IF and WHILE, reset_state, .gsm round trips, and the streaming wake-word model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("tflite")

from gossamer.refimpl.errors import InputError, UnsupportedModelError  # noqa: E402
from gossamer.refimpl.ir import Value  # noqa: E402
from gossamer.refimpl.model_format import dump_gsm, load_gsm  # noqa: E402

import gossamer  # noqa: E402
from gossamer.cli import main  # noqa: E402
from gossamer.session import Session, read_model  # noqa: E402
from tests.conftest import MODELS_DIR  # noqa: E402
from tests.converter import tflite_state_models as models  # noqa: E402
from tests.converter.tflite_state_models import (  # noqa: E402
    ADD,
    ASSIGN_VARIABLE,
    FLOAT32,
    IF,
    READ_VARIABLE,
    RESOURCE,
    VAR_HANDLE,
    Op,
    Sub,
    T,
    build,
    handle,
)

litert = pytest.importorskip("ai_edge_litert.interpreter")
X = "serving_default_x:0"
BACKENDS = [["reference"], ["cython", "reference"]]


class LiteRT:
    """One LiteRT interpreter kept across invoke() calls, fed and read by tensor name."""

    def __init__(self, model: bytes | str, reference: bool = False, keep: bool = False) -> None:
        kwargs = {"experimental_preserve_all_tensors": keep}
        if reference:
            kwargs["experimental_op_resolver_type"] = litert.OpResolverType.BUILTIN_REF
        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": model}
        self.it = litert.Interpreter(**source, **kwargs)
        self.it.allocate_tensors()
        self.index = {d["name"]: d["index"] for d in self.it.get_tensor_details()}

    def __call__(self, feeds: dict, extra: tuple[str, ...] = ()) -> list[np.ndarray]:
        for d in self.it.get_input_details():
            self.it.set_tensor(d["index"], feeds[d["name"]])
        self.it.invoke()
        outs = [d["index"] for d in self.it.get_output_details()]
        return [self.it.get_tensor(i) for i in outs + [self.index[n] for n in extra]]


def _x(seed: int, shape=(1, 4)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("optimize", [0, 3])
@pytest.mark.parametrize("backends", BACKENDS)
def test_accumulator_keeps_its_value_across_runs_as_litert(optimize, backends):
    model = models.accumulator(init=1.0)
    sess = gossamer.load(model, optimize=optimize, backends=backends)
    theirs = LiteRT(model)
    for run in range(4):
        feeds = {X: _x(run)}
        np.testing.assert_array_equal(sess.run(None, feeds)[0], theirs(feeds)[0])


def test_read_after_assign_in_one_run_sees_the_assigned_value():
    sess = gossamer.load(models.accumulator(init=1.0), optimize=0)
    total = np.ones((1, 4), np.float32)
    for run in range(3):
        x = _x(run)
        total = total + x
        np.testing.assert_array_equal(sess.run(None, {X: x})[0], total * 2)
    np.testing.assert_array_equal(sess.state["acc"], total)


def test_state_is_hidden_from_inputs_and_outputs():
    sess = gossamer.load(models.accumulator(init=1.0), optimize=0)
    assert [v.name for v in sess.inputs] == [X]
    assert [v.name for v in sess.outputs] == ["StatefulPartitionedCall:0"]
    (binding,) = sess.graph.state
    assert binding.name == "acc" and binding.input and binding.output
    with pytest.raises(InputError, match="not outputs"):
        sess.run([binding.output], {X: _x(0)})
    with pytest.raises(InputError, match="no input"):
        sess.run(None, {X: _x(0), binding.input: _x(1)})


def test_call_once_init_gives_the_initial_state():
    sess = gossamer.load(models.accumulator(init=3.5), optimize=0)
    np.testing.assert_array_equal(sess.state["acc"], np.full((1, 4), 3.5, np.float32))
    (binding,) = sess.graph.state
    np.testing.assert_array_equal(binding.initial, np.full((1, 4), 3.5, np.float32))
    assert "CALL_ONCE" not in {n.op_type for n in sess.graph.nodes}


def test_two_handles_of_one_shared_name_are_one_variable():
    model = models.two_handles()
    sess, theirs = gossamer.load(model, optimize=0), LiteRT(model)
    previous = np.array([-1.0, -2.0, -3.0], np.float32)
    for run in range(4):
        x = _x(run, (3,))
        ours = sess.run(None, {X: x})[0]
        np.testing.assert_array_equal(ours, theirs({X: x})[0])
        np.testing.assert_array_equal(ours, previous)
        previous = x
    assert [b.name for b in sess.graph.state] == ["delay"]


def test_reset_state_runs_as_a_fresh_interpreter():
    model = models.accumulator(init=1.0)
    sess = gossamer.load(model, optimize=0)
    for run in range(3):
        sess.run(None, {X: _x(run)})
    sess.reset_state()
    feeds = {X: _x(7)}
    np.testing.assert_array_equal(sess.run(None, feeds)[0], LiteRT(model)(feeds)[0])


def test_two_sessions_of_one_model_do_not_share_state():
    model = models.accumulator(init=1.0)
    graph = read_model(model)
    first, second = Session(graph), Session(graph)
    for run in range(3):
        first.run(None, {X: _x(run)})
    np.testing.assert_array_equal(second.state["acc"], np.ones((1, 4), np.float32))
    feeds = {X: _x(9)}
    np.testing.assert_array_equal(second.run(None, feeds)[0], LiteRT(model)(feeds)[0])


def test_gsm_keeps_the_initial_state_not_the_runtime_one():
    model = models.accumulator(init=2.0)
    sess = gossamer.load(model, optimize=3)
    for run in range(3):
        sess.run(None, {X: _x(run)})
    loaded = gossamer.load(dump_gsm(sess.graph), optimize=0)
    assert [(b.name, b.input, b.output) for b in loaded.graph.state] == [
        (b.name, b.input, b.output) for b in sess.graph.state
    ]
    theirs = LiteRT(model)
    for run in range(3):
        feeds = {X: _x(10 + run)}
        np.testing.assert_array_equal(loaded.run(None, feeds)[0], theirs(feeds)[0])


def test_gsm_file_round_trip_on_disk(tmp_path):
    path = tmp_path / "acc.gsm"
    gossamer.refimpl.model_format.save_gsm(read_model(models.accumulator(init=1.0)), path)
    graph = load_gsm(path)
    np.testing.assert_array_equal(graph.state[0].initial, np.ones((1, 4), np.float32))


def test_a_variable_without_a_value_fails_the_run_as_in_litert():
    model = models.accumulator(init=None)
    # LiteRT's reference kernels fail; its default ones read uninitialised memory
    it = litert.Interpreter(
        model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], _x(0))
    with pytest.raises(RuntimeError):
        it.invoke()
    sess = gossamer.load(model, optimize=0)
    assert sess.state == {"acc": None}
    with pytest.raises(InputError, match="reads state 'acc' before"):
        sess.run(None, {X: _x(0)})
    sess.set_state({"acc": np.zeros((1, 4), np.float32)})
    np.testing.assert_array_equal(sess.run(None, {X: _x(0)})[0], _x(0) * 2)


@pytest.mark.parametrize("backends", BACKENDS)
def test_if_matches_litert_on_both_branches(backends):
    model = models.if_model()
    sess, theirs = gossamer.load(model, backends=backends), LiteRT(model)
    assert "If" in {n.op_type for n in sess.graph.nodes}
    for run, flag in enumerate([True, False, True]):
        feeds = {
            "serving_default_flag:0": np.array([flag]),
            X: _x(run, (2, 3)),
            "serving_default_y:0": _x(run + 5, (2, 3)),
        }
        np.testing.assert_array_equal(sess.run(None, feeds)[0], theirs(feeds)[0])


@pytest.mark.parametrize("n", [0.0, 1.0, 3.5, 6.0])
@pytest.mark.parametrize("optimize", [0, 3])
def test_while_matches_litert(n, optimize):
    model = models.while_model()
    sess, theirs = gossamer.load(model, optimize=optimize), LiteRT(model)
    assert "Loop" in {node.op_type for node in sess.graph.nodes}
    feeds = {"serving_default_n:0": np.array(n, np.float32), X: _x(1, (4,))}
    ours, expected = sess.run(None, feeds), theirs(feeds)
    assert [v.name for v in sess.outputs] == [d["name"] for d in theirs.it.get_output_details()]
    for a, b in zip(ours, expected):
        np.testing.assert_array_equal(a, b)
    assert float(ours[1]) == np.ceil(n)  # the iteration count: cond tested before each step


@pytest.mark.parametrize("optimize", [0, 3])
def test_a_branch_that_assigns_a_variable_matches_litert(optimize):
    model = models.if_with_variable()
    sess, theirs = gossamer.load(model, optimize=optimize), LiteRT(model)
    for run, flag in enumerate([True, False, True, True, False]):
        feeds = {"serving_default_flag:0": np.array([flag]), X: _x(run, (2,))}
        np.testing.assert_array_equal(sess.run(None, feeds)[0], theirs(feeds)[0])
    assert [b.name for b in sess.graph.state] == ["c"]


@pytest.mark.parametrize("optimize", [0, 3])
def test_a_loop_body_that_assigns_a_variable_matches_litert(optimize):
    model = models.while_with_variable()
    sess, theirs = gossamer.load(model, optimize=optimize), LiteRT(model)
    total = 0.0
    for n in [3.0, 0.0, 4.0, 1.0]:
        feeds = {"serving_default_n:0": np.array([n], np.float32)}
        total += sum(range(int(n)))
        ours = sess.run(None, feeds)[0]
        np.testing.assert_array_equal(ours, theirs(feeds)[0])
        assert ours[0] == total
    sess.reset_state()
    np.testing.assert_array_equal(sess.state["total"], [0.0])


def test_an_unmapped_op_in_a_branch_is_listed_not_crashed_on():
    branch = Sub(
        [T("a", FLOAT32, (2,)), T("r", FLOAT32, (2,))], [Op(200, [0], [1])], [0], [1]
    )  # 200: not a builtin the importer maps
    main = Sub(
        [T("flag", 6, (1,)), T("serving_default_x:0", FLOAT32, (2,)), T("y", FLOAT32, (2,))],
        [Op(IF, [0, 1], [2], ("IfOptions", {"then_subgraph_index": 1, "else_subgraph_index": 1}))],
        [0, 1],
        [2],
    )
    with pytest.raises(UnsupportedModelError, match="subgraph 1 op 0"):
        read_model(build([main, branch]))


def test_assign_before_read_needs_no_state_input():
    main = Sub(
        [
            T("serving_default_x:0", FLOAT32, (2,)),
            T("h", RESOURCE, ()),
            T("r", FLOAT32, (2,)),
            T("StatefulPartitionedCall:0", FLOAT32, (2,)),
        ],
        [
            Op(VAR_HANDLE, [], [1], handle("v")),
            Op(ASSIGN_VARIABLE, [1, 0], []),
            Op(READ_VARIABLE, [1], [2]),
            Op(ADD, [2, 0], [3]),
        ],
        [0],
        [3],
    )
    model = build([main])
    sess, theirs = gossamer.load(model, optimize=0), LiteRT(model)
    (binding,) = sess.graph.state
    assert binding.input is None and binding.output is not None
    feeds = {X: _x(0, (2,))}
    np.testing.assert_array_equal(sess.run(None, feeds)[0], theirs(feeds)[0])
    np.testing.assert_array_equal(sess.state["v"], feeds[X])


# ---- the streaming wake-word model (int8 ops from the int8 importer) --------------------------
MWW = MODELS_DIR / "mww_okay_nabu_int8.tflite"
# the tensors that hold each streaming buffer (state read + new frame) and the last int8 logits
MWW_PROBES = tuple(f"model_1/stream_{k}/concat" for k in range(6, 12)) + (
    "model_1/dense_1/MatMul;model_1/dense_1/BiasAdd",
)


def _mww_session(optimize: int) -> Session:
    if not MWW.exists():
        pytest.skip(f"{MWW.name} is not in {MODELS_DIR}")
    try:
        graph = read_model(MWW)
    except UnsupportedModelError as err:
        pytest.skip(f"the int8 part of the TFLite importer is missing: {err}")
    graph.outputs += [Value(n) for n in MWW_PROBES]  # the streaming buffers, compared too
    if optimize:
        from gossamer.converter.optimizer import optimize as optimize_graph

        graph, _ = optimize_graph(graph, optimize)
    return Session(graph)


def _mww_input(run: int) -> np.ndarray:
    rng = np.random.default_rng(run)
    return np.clip(rng.normal(40, 50, (1, 3, 40)), -128, 127).astype(np.int8)


@pytest.mark.models
@pytest.mark.parametrize("optimize", [0, 3])
def test_mww_streams_exactly_as_litert_reference_kernels(optimize):
    sess = _mww_session(optimize)
    assert len(sess.graph.state) == 6
    name = sess.inputs[0].name
    theirs = LiteRT(str(MWW), reference=True, keep=True)
    for run in range(12):
        feeds = {name: _mww_input(run)}
        for ours, expected in zip(sess.run(None, feeds), theirs(feeds, MWW_PROBES)):
            np.testing.assert_array_equal(ours, expected)
    sess.reset_state()  # and again from the start, as a fresh interpreter
    fresh = LiteRT(str(MWW), reference=True, keep=True)
    for run in range(3):
        feeds = {name: _mww_input(run)}
        for ours, expected in zip(sess.run(None, feeds), fresh(feeds, MWW_PROBES)):
            np.testing.assert_array_equal(ours, expected)


@pytest.mark.models
def test_mww_output_follows_litert_default_kernels_over_many_runs():
    sess = _mww_session(3)
    name = sess.inputs[0].name
    theirs = LiteRT(str(MWW))
    seen = []
    for _ in range(40):  # a steady input: the output rises once the buffers have filled
        feeds = {name: np.full((1, 3, 40), 100, np.int8)}
        ours, expected = sess.run(None, feeds)[0], theirs(feeds)[0]
        assert np.abs(ours.astype(int) - expected.astype(int)).max() <= 1
        seen.append(int(expected.max()))
    assert max(seen) > seen[0]  # the output depends on the kept state


def test_a_variable_tensor_reads_as_zeros_as_litert_allocates_it():
    main = Sub(
        [
            T("serving_default_x:0", FLOAT32, (1, 4)),
            T("v", FLOAT32, (1, 4), variable=True),
            T("StatefulPartitionedCall:0", FLOAT32, (1, 4)),
        ],
        [Op(ADD, [0, 1], [2])],
        [0],
        [2],
    )
    model = build([main])
    sess, theirs = gossamer.load(model, optimize=0), LiteRT(model)
    assert [v.name for v in sess.inputs] == [X]
    np.testing.assert_array_equal(sess.state["v"], np.zeros((1, 4), np.float32))
    for run in range(2):
        feeds = {X: _x(run)}
        np.testing.assert_array_equal(sess.run(None, feeds)[0], theirs(feeds)[0])


def test_info_shows_the_state(tmp_path, capsys):
    path = tmp_path / "acc.tflite"
    path.write_bytes(models.accumulator(init=1.0))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "state (kept between runs" in out
    assert "acc: float32[1, 4], initial float32[1, 4]; read as 'acc/kept', written as" in out
    inputs = out.split("inputs:")[1].split("outputs:")[0]
    assert "acc" not in inputs  # state is not an input the user feeds


def test_run_command_prints_only_the_model_outputs(tmp_path, capsys):
    path = tmp_path / "acc.tflite"
    path.write_bytes(models.accumulator(init=1.0))
    assert main(["run", str(path), "--random"]) == 0
    out = capsys.readouterr().out
    assert "StatefulPartitionedCall:0" in out and "acc/new" not in out


@pytest.mark.models
def test_mww_state_carries_the_variables_quantisation():
    graph = _mww_session(0).graph
    binding = {b.name: b for b in graph.state}["stream_9/states"]
    q = graph.quant[binding.input]
    assert np.isclose(float(q.scale), 0.03372686) and int(q.zero_point) == -128
    assert graph.quant[binding.output] is q
    np.testing.assert_array_equal(binding.initial, np.full((1, 12, 1, 64), -128, np.int8))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_order_of_reads_and_assigns_matches_litert(data):
    """Law: for any sequence of reads, assigns (through either of two handles) and adds over
    up to 3 variables, every invoke's output equals LiteRT's interpreter's, 3 invokes in a row.
    (Its kernels, not the XNNPACK delegate: that reads a variable by reference, so an ADD it
    runs after a later ASSIGN sees the assigned value; docs/tflite-import.md.)"""
    variables = data.draw(st.integers(1, 3), label="variables")
    steps, count = [], 1  # values available: x, then one per read or add
    for _ in range(data.draw(st.integers(1, 10), label="steps")):
        kind = data.draw(st.sampled_from(["read", "assign", "add"]))
        v, h = data.draw(st.integers(0, variables - 1)), data.draw(st.integers(0, 1))
        if kind == "read":
            steps.append(("read", v, h))
            count += 1
        elif kind == "assign":
            steps.append(("assign", v, h, data.draw(st.integers(0, count - 1))))
        else:
            i, j = data.draw(st.integers(0, count - 1)), data.draw(st.integers(0, count - 1))
            steps.append(("add", i, j))
            count += 1
    model = models.variable_program(steps, variables)
    sess, theirs = gossamer.load(model, optimize=3), LiteRT(model, reference=True)
    for run in range(3):
        feeds = {X: _x(run, (2,))}
        np.testing.assert_array_equal(sess.run(None, feeds)[0], theirs(feeds)[0])
