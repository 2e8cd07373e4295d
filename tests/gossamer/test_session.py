"""Session: the onnxruntime-shaped API and its checks on feeds."""

import numpy as np
import pytest
from onnx import helper

import gossamer
from gossamer import InputError
from tests.conftest import make_model, tensor_info


@pytest.fixture
def session():
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
        [tensor_info("a", np.float32, ["N", 3]), tensor_info("b", np.float32, ["N", 3])],
        [tensor_info("y", np.float32, ["N", 3]), tensor_info("s", np.float32, ["N", 3])],
    )
    return gossamer.load(model.SerializeToString())


def test_run_returns_outputs_in_requested_order(session):
    a = np.array([[1, -2, 3]], np.float32)
    b = np.array([[1, 1, -5]], np.float32)
    s, y = session.run(["s", "y"], {"a": a, "b": b})
    np.testing.assert_array_equal(s, a + b)
    np.testing.assert_array_equal(y, np.maximum(a + b, 0))


def test_none_means_all_outputs(session):
    out = session.run(None, {"a": np.zeros((2, 3), np.float32), "b": np.zeros((2, 3), np.float32)})
    assert len(out) == 2


def test_inputs_and_outputs_describe_the_model(session):
    assert [(v.name, v.dtype, v.shape) for v in session.inputs] == [
        ("a", "float32", ("N", 3)),
        ("b", "float32", ("N", 3)),
    ]
    assert [v.name for v in session.get_outputs()] == ["y", "s"]


def test_unknown_input_name_lists_real_inputs(session):
    with pytest.raises(InputError, match=r"no input\(s\) \['c'\].*a: float32\[N, 3\]"):
        session.run(None, {"a": np.zeros((1, 3), np.float32), "c": np.zeros((1, 3), np.float32)})


def test_missing_input_is_named(session):
    with pytest.raises(InputError, match=r"needs input\(s\) \['b'\]"):
        session.run(None, {"a": np.zeros((1, 3), np.float32)})


def test_wrong_dtype_names_expected_and_given(session):
    with pytest.raises(InputError, match="input 'a' expects dtype float32, got float64"):
        session.run(None, {"a": np.zeros((1, 3)), "b": np.zeros((1, 3), np.float32)})


def test_big_endian_feed_is_converted_to_native_byte_order(session):
    a = np.array([[1, -2, 3]], ">f4")
    b = np.array([[0.5, 0.5, 0.5]], np.float32)
    y, s = session.run(None, {"a": a, "b": b})
    np.testing.assert_array_equal(s, [[1.5, -1.5, 3.5]])
    assert s.dtype == np.float32 and s.dtype.isnative


def test_feed_of_a_dtype_no_model_takes_names_the_input(session):
    odd = np.zeros((1, 3), [("re", "f4"), ("im", "f4")])
    with pytest.raises(InputError, match="input 'a' has numpy dtype .* it expects float32"):
        session.run(None, {"a": odd, "b": np.zeros((1, 3), np.float32)})


def test_wrong_rank_is_rejected(session):
    with pytest.raises(InputError, match="expects rank 2"):
        session.run(None, {"a": np.zeros(3, np.float32), "b": np.zeros((1, 3), np.float32)})


def test_wrong_fixed_dim_names_the_axis(session):
    with pytest.raises(InputError, match="axis 1 must be 3"):
        session.run(None, {"a": np.zeros((1, 4), np.float32), "b": np.zeros((1, 4), np.float32)})


def test_symbolic_dim_must_agree_across_inputs(session):
    with pytest.raises(InputError, match="dimension 'N' is 2 in input 'a' but 5"):
        session.run(None, {"a": np.zeros((2, 3), np.float32), "b": np.zeros((5, 3), np.float32)})


def test_unknown_output_name_is_rejected(session):
    with pytest.raises(InputError, match="not outputs"):
        session.run(
            ["nope"], {"a": np.zeros((1, 3), np.float32), "b": np.zeros((1, 3), np.float32)}
        )


def test_feeds_must_be_a_dict(session):
    with pytest.raises(InputError, match="must be a dict"):
        session.run(None, [np.zeros((1, 3), np.float32)])


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gossamer.load(tmp_path / "absent.onnx")


def test_garbage_bytes_are_a_model_format_error():
    with pytest.raises(gossamer.ModelFormatError):
        gossamer.load(b"\x08\x07garbage that is not a protobuf \xff\xff\xff")


def test_initializer_listed_as_input_is_an_optional_feed():
    from onnx import numpy_helper

    w = numpy_helper.from_array(np.full(3, 2, np.float32), "w")
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [tensor_info("x", np.float32, [3]), tensor_info("w", np.float32, [3])],
        [tensor_info("y", np.float32, [3])],
        [w],
    )
    sess = gossamer.load(model.SerializeToString())
    assert [v.name for v in sess.inputs] == ["x"]
    x = np.ones(3, np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], x + 2)
    np.testing.assert_array_equal(sess.run(None, {"x": x, "w": x})[0], x + 1)


def test_optimize_level_fuses_and_keeps_outputs():
    from gossamer.builtin_models import tiny_cnn

    model = tiny_cnn().SerializeToString()
    image = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    plain = gossamer.load(model, optimize=0)
    fused = gossamer.load(model, optimize=3)
    assert len(fused.graph.nodes) < len(plain.graph.nodes)
    assert len(gossamer.load(model).graph.nodes) == len(fused.graph.nodes)  # -O3 by default
    np.testing.assert_allclose(
        fused.run(None, {"image": image})[0],
        plain.run(None, {"image": image})[0],
        rtol=1e-5,
        atol=1e-7,
    )


def test_bad_optimize_level_is_an_input_error():
    with pytest.raises(InputError, match="optimize must be a level"):
        gossamer.load(b"irrelevant", optimize=7)


def test_threads_caps_numpy_blas_during_a_run():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []

    class Probe:
        def before_node(self, node, inputs):
            info = threadpoolctl.threadpool_info()
            seen.append([i["num_threads"] for i in info if i["user_api"] == "blas"])

        def after_node(self, node, inputs, outputs):
            pass

    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
    )
    sess = gossamer.load(model.SerializeToString(), threads=1)
    sess.run(None, {"x": np.ones(2, np.float32)}, observers=[Probe()])
    assert seen and all(n == 1 for counts in seen for n in counts)


def test_threads_must_be_positive():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [tensor_info("x", np.float32, [2])],
        [tensor_info("y", np.float32, [2])],
    )
    with pytest.raises(InputError, match="threads must be a positive integer"):
        gossamer.load(model.SerializeToString(), threads=0)


def _endless_loop_model():
    """y = Loop(M = 2^62, cond = true) adding 1 to x each iteration: it runs for ever."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["acc_in", "one"], ["acc_out"])],
        "body",
        [tensor_info("i", np.int64, []), tensor_info("cond_in", np.bool_, []),
         tensor_info("acc_in", np.float32, [1])],
        [tensor_info("cond_out", np.bool_, []), tensor_info("acc_out", np.float32, [1])],
    )  # fmt: skip
    inits = [
        helper.make_tensor("trips", 7, [], [2**62]),
        helper.make_tensor("true", 9, [], [True]),
        helper.make_tensor("one", 1, [1], [1.0]),
    ]
    return make_model(
        [helper.make_node("Loop", ["trips", "true", "x"], ["y"], body=body)],
        [tensor_info("x", np.float32, [1])],
        [tensor_info("y", np.float32, [1])],
        inits,
    ).SerializeToString()


def test_timeout_stops_an_endless_loop_between_iterations():
    import time

    sess = gossamer.load(_endless_loop_model())
    start = time.monotonic()
    with pytest.raises(
        gossamer.RunTimeoutError, match="passed its timeout before node .* of graph"
    ) as info:
        sess.run(None, {"x": np.zeros(1, np.float32)}, timeout=0.3)
    assert time.monotonic() - start < 5
    assert info.value.op_type in ("Add", "Identity", "Loop")


def test_timeout_leaves_a_quick_run_alone(session):
    a = np.ones((1, 3), np.float32)
    (y, s) = session.run(None, {"a": a, "b": a}, timeout=30)
    np.testing.assert_array_equal(s, a + a)


@pytest.mark.parametrize("bad", [0, -1, True, "1"])
def test_bad_timeout_is_an_input_error(session, bad):
    a = np.ones((1, 3), np.float32)
    with pytest.raises(InputError, match="timeout must be a positive number"):
        session.run(None, {"a": a, "b": a}, timeout=bad)


def test_blas_runs_on_one_thread_while_a_native_backend_shares_the_run():
    """The reference's numpy BLAS and a native backend's thread team must not fight for the
    cores: during a run of a session with native nodes BLAS is capped at one thread, and the
    previous count is back afterwards (refimpl/blas_threads.py)."""
    from gossamer.refimpl.blas_threads import loaded_blas

    from gossamer.builtin_models import tiny_cnn

    libs = loaded_blas()
    if not libs:
        pytest.skip("no BLAS whose thread count can be set is loaded here")
    before = [lib.get() for lib in libs]
    seen: list[list[int]] = []

    class Probe:
        def before_node(self, node, inputs):
            seen.append([lib.get() for lib in libs])

        def after_node(self, node, inputs, outputs):
            pass

    image = np.zeros((1, 3, 64, 64), np.float32)
    from gossamer.plugins.manager import all_backends, availability

    native_backends = [
        name
        for name, backend in all_backends().items()
        if name == "cython" and availability(backend) is None
    ]
    if not native_backends:
        pytest.skip("the cython backend is not available here")
    native = gossamer.load(tiny_cnn().SerializeToString(), backends=native_backends)
    native.run(None, {"image": image}, observers=[Probe()])
    assert seen and all(counts == [1] * len(libs) for counts in seen)
    assert [lib.get() for lib in libs] == before
    seen.clear()
    gossamer.load(tiny_cnn().SerializeToString(), backends=[]).run(
        None, {"image": image}, observers=[Probe()]
    )
    assert all(counts == before for counts in seen)  # reference only: BLAS as it was


def _native_tiny_cnn_or_skip():
    from gossamer.plugins.manager import all_backends, availability
    from gossamer.refimpl.blas_threads import loaded_blas

    from gossamer.builtin_models import tiny_cnn

    libs = loaded_blas()
    if not libs:
        pytest.skip("no BLAS whose thread count can be set is loaded here")
    backend = all_backends().get("cython")
    if backend is None or availability(backend) is not None:
        pytest.skip("the cython backend is not available here")
    sess = gossamer.load(tiny_cnn().SerializeToString(), backends=["cython"])
    feeds = {"image": np.zeros((1, 3, 64, 64), np.float32)}
    for _ in range(3):  # the second run records the segments
        sess.run(None, feeds)
    program = sess._program  # symbolic input dims: the program of these feeds' shapes
    if program._shapes is not None:
        program = program._shapes.variant(feeds)
    return sess, libs, feeds, program.schedule


def test_a_run_of_c_segments_alone_leaves_blas_alone(monkeypatch):
    """A run the C segments make whole calls no BLAS, so it neither caps nor restores numpy's
    BLAS threads (each set costs about a microsecond a run)."""
    sess, libs, feeds, schedule = _native_tiny_cnn_or_skip()
    if not schedule or any(segment is None for _, _, segment, _ in schedule):
        pytest.skip("the model does not run as C segments alone here")
    sets: list[int] = []
    for lib in libs:
        real = lib.set
        monkeypatch.setattr(lib, "set", lambda n, real=real: (sets.append(n), real(n))[1])
    before = [lib.get() for lib in libs]
    sess.run(None, feeds)
    assert sets == []
    assert [lib.get() for lib in libs] == before


def test_steps_outside_the_segments_still_run_with_blas_capped(monkeypatch):
    """When a segment declines (it runs only on what it recorded) its steps run one by one:
    the BLAS cap is entered before them and left after the run."""
    from gossamer.refimpl.interpreter import Program

    sess, libs, feeds, schedule = _native_tiny_cnn_or_skip()
    segments = [s for _, _, s, _ in schedule or () if s is not None]
    if not segments:
        pytest.skip("the model records no C segment here")
    for segment in segments:
        monkeypatch.setattr(segment, "run", lambda env: False)
    seen: list[list[int]] = []
    real_steps = Program._run_steps

    def spy(self, *args, **kwargs):
        seen.append([lib.get() for lib in libs])
        return real_steps(self, *args, **kwargs)

    monkeypatch.setattr(Program, "_run_steps", spy)
    before = [lib.get() for lib in libs]
    expected = sess.run(None, feeds)
    assert seen and all(counts == [1] * len(libs) for counts in seen)
    assert [lib.get() for lib in libs] == before
    monkeypatch.undo()
    np.testing.assert_array_equal(sess.run(None, feeds)[0], expected[0])
