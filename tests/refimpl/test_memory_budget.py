"""The memory budget (`max_memory`): a model or a run whose tensors, arena or kernel work buffers
would exceed it is refused with MemoryBudgetError before anything that large is allocated, and
the error names the tensor, the size and the budget; sizes are exact integers (never overflow)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from gossamer.plugins import KernelBackend, check_allocation, kernel
from gossamer.plugins import manager as plugin_manager
from gossamer.refimpl.errors import InputError, MemoryBudgetError, NodeExecutionError
from gossamer.refimpl.memory_budget import default_budget, format_bytes, parse_budget
from gossamer.refimpl.ops.op_relu import relu_6
from onnx import helper, numpy_helper

import gossamer
from gossamer.cli import main
from tests.conftest import make_model, tensor_info
from tests.plugins.conftest import BackendsPlugin


def _bytes(nodes, inputs, outputs, inits=()) -> bytes:
    return make_model(nodes, inputs, outputs, inits).SerializeToString()


def _broadcast_model() -> bytes:
    """y = a + b with a: [N, 1], b: [1, N]: a feed of N elements makes an N x N output."""
    return _bytes(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [tensor_info("a", np.float32, ["N", 1]), tensor_info("b", np.float32, [1, "N"])],
        [tensor_info("y")],
    )


def _shape_from_feed_model() -> bytes:
    """y = ConstantOfShape(s): the output's size is the feed's values."""
    return _bytes(
        [helper.make_node("ConstantOfShape", ["s"], ["y"])],
        [tensor_info("s", np.int64, [2])],
        [tensor_info("y")],
    )


@pytest.mark.parametrize(
    "text, expected",
    [("1024", 1024), ("4K", 4096), ("1.5G", 3 << 29), ("2GiB", 2 << 30), ("512 MB", 512 << 20)],
)
def test_budget_sizes_parse_with_units(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize("bad", ["", "-1", "four gigs", "0", 0, True, 1.5])
def test_bad_budget_is_an_input_error(bad):
    with pytest.raises(InputError, match="max_memory"):
        parse_budget(bad)


def test_default_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("GOSSAMER_MAX_MEMORY", "3M")
    assert default_budget() == 3 << 20
    monkeypatch.delenv("GOSSAMER_MAX_MEMORY")
    assert 0 < default_budget() < 1 << 50


def test_format_bytes_is_readable_at_every_scale():
    assert format_bytes(512) == "512 bytes"
    assert format_bytes(3 << 30) == "3.0 GiB"
    assert format_bytes(2**72) == "4.72e+21 bytes"


@pytest.mark.parametrize("backends", [[], None], ids=["reference", "default"])
def test_input_larger_than_any_machine_is_refused_at_load_without_overflow(backends):
    model = _bytes(
        [helper.make_node("Relu", ["x"], ["y"])],
        [tensor_info("x", np.float32, [2**40, 2**30])],
        [tensor_info("y")],
    )
    with pytest.raises(MemoryBudgetError, match=r"tensor 'x' of shape \[1099511627776") as info:
        gossamer.load(model, backends=backends)
    assert info.value.tensor == "x" and info.value.nbytes == 2**72


def test_huge_hidden_size_is_refused_at_load_naming_the_output():
    w = numpy_helper.from_array(np.zeros((1, 16, 3), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 16, 4), np.float32), "R")
    model = _bytes(
        [helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=2**32)],
        [tensor_info("x", np.float32, [5, 1, 3])],
        [tensor_info("y")],
        [w, r],
    )
    with pytest.raises(MemoryBudgetError, match="tensor 'y' of shape .*4294967296"):
        gossamer.load(model, backends=None)


def test_feed_shapes_that_blow_up_a_broadcast_are_refused_before_running():
    sess = gossamer.load(_broadcast_model(), max_memory="1M")
    small = sess.run(None, {"a": np.ones((8, 1), np.float32), "b": np.ones((1, 8), np.float32)})
    assert small[0].shape == (8, 8)
    big = {"a": np.ones((1000, 1), np.float32), "b": np.ones((1, 1000), np.float32)}
    with pytest.raises(MemoryBudgetError, match=r"'y' of shape \[1000, 1000\].*a: \[1000, 1\]"):
        sess.run(None, big)


def test_output_sized_by_input_values_is_refused_before_it_is_allocated():
    sess = gossamer.load(_shape_from_feed_model(), max_memory="1M")
    assert sess.run(None, {"s": np.array([4, 5])})[0].shape == (4, 5)
    with pytest.raises(MemoryBudgetError, match="ConstantOfShape") as info:
        sess.run(None, {"s": np.array([2**20, 2**20])})
    assert info.value.nbytes == 2**42 and info.value.budget == 1 << 20


def test_budget_from_the_environment_applies_to_a_session(monkeypatch):
    monkeypatch.setenv("GOSSAMER_MAX_MEMORY", "64K")
    sess = gossamer.load(_shape_from_feed_model())
    with pytest.raises(MemoryBudgetError, match="64.0 KiB"):
        sess.run(None, {"s": np.array([256, 256])})


def test_arena_larger_than_the_budget_is_refused_at_load():
    pytest.importorskip("gossamer.cython_kernels._native")
    if "cython" not in plugin_manager.all_backends():
        pytest.skip("cython backend not available")
    model = _bytes(
        [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["x"], ["b"]),
         helper.make_node("Add", ["a", "b"], ["c"]), helper.make_node("Relu", ["c"], ["y"])],
        [tensor_info("x", np.float32, [1, 1 << 18])], [tensor_info("y")],
    )  # fmt: skip
    # a and b (1 MiB each) live together: the arena takes 2 MiB, every tensor fits in 1.5
    gossamer.load(model, backends=["cython"], max_memory="3M")
    with pytest.raises(MemoryBudgetError, match="arena of 2.0 MiB"):
        gossamer.load(model, backends=["cython"], max_memory="1536K")


class _BufferHungry(KernelBackend):
    """A kernel that asks for a work buffer as large as its input says."""

    name = "buffer_hungry"

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        check_allocation(int(x.size) << 30, "buffer_hungry's relu scratch")
        return np.maximum(x, x.dtype.type(0))


@pytest.fixture
def use_kernel():
    names = []

    def add(backend):
        names.append(f"plugin_{backend.name}")
        plugin_manager.register_plugin(BackendsPlugin(backend), names[-1])

    yield add
    for name in names:
        plugin_manager.unregister_plugin(name)


def test_kernel_work_buffer_over_the_budget_is_refused_naming_the_buffer(use_kernel):
    use_kernel(_BufferHungry())
    model = _bytes(
        [helper.make_node("Relu", ["x"], ["y"])],
        [tensor_info("x", np.float32, [4])],
        [tensor_info("y")],
    )
    x = np.array([-1, 2, -3, 4], np.float32)
    sess = gossamer.load(model, backends=["buffer_hungry"], max_memory="5G")
    assert sess.run(None, {"x": x})[0].tolist() == [0, 2, 0, 4]  # 4 GiB fits in 5
    sess = gossamer.load(model, backends=["buffer_hungry"], max_memory="3G")
    with pytest.raises(MemoryBudgetError, match="buffer_hungry's relu scratch.*3.0 GiB"):
        sess.run(None, {"x": x})


class _Exhausted(KernelBackend):
    """A kernel whose allocation the machine refuses."""

    name = "exhausted"

    @kernel(relu_6)
    def relu(x: np.ndarray) -> np.ndarray:
        raise MemoryError("Unable to allocate 4.00 TiB")


def test_memory_error_inside_a_node_is_a_typed_error_naming_the_node(use_kernel):
    use_kernel(_Exhausted())
    model = _bytes(
        [helper.make_node("Relu", ["x"], ["y"], name="act")],
        [tensor_info("x", np.float32, [4])],
        [tensor_info("y")],
    )
    sess = gossamer.load(model, backends=["exhausted"])
    with pytest.raises(MemoryBudgetError, match="act .Relu. failed.*cannot allocate") as info:
        sess.run(None, {"x": np.zeros(4, np.float32)})
    assert isinstance(info.value.__cause__, MemoryError)


def test_cli_max_memory_refuses_with_one_line(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(_broadcast_model())
    code = main(["run", str(path), "--random", "--shape", "a=600,1", "--shape", "b=1,600",
                 "--max-memory", "1M"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gossamer run: error: model") and "memory budget of 1.0 MiB" in err
    assert "GOSSAMER_MAX_MEMORY" not in os.environ  # the flag applied to that command only


def test_cli_rejects_a_malformed_max_memory(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "m.onnx", "--random", "--max-memory", "lots"])
    assert info.value.code == 2
    assert "--max-memory" in capsys.readouterr().err


def _count_inferences(monkeypatch) -> list:  # type: ignore[no-untyped-def]
    from gossamer.refimpl import memory_budget

    calls: list = []
    real = memory_budget.infer_shapes
    monkeypatch.setattr(  # the graph's name: the model's, or a guarded node's (SizeGuard)
        memory_budget, "infer_shapes", lambda g, *order: calls.append(g.name) or real(g, *order)
    )
    return calls


def test_shapes_of_a_new_feed_size_the_declared_inference_leaves_unknown_are_inferred_once(
    monkeypatch,
):
    model = _bytes(  # NonZero's count is a fresh symbol that no feed's shape binds
        [helper.make_node("NonZero", ["x"], ["i"]), helper.make_node("Relu", ["x"], ["y"])],
        [tensor_info("x", np.float32, ["N"])],
        [tensor_info("i"), tensor_info("y")],
    )
    sess = gossamer.load(model, backends=[])
    calls = _count_inferences(monkeypatch)
    for _ in range(3):
        sess.run(None, {"x": np.ones(3, np.float32)})
    assert calls.count(sess.graph.name) == 1


def test_a_new_feed_size_whose_sizes_the_declared_inference_gives_is_not_inferred_again(
    monkeypatch,
):
    sess = gossamer.load(_broadcast_model(), max_memory="1M")
    calls = _count_inferences(monkeypatch)
    feeds = {"a": np.ones((3, 1), np.float32), "b": np.ones((1, 3), np.float32)}
    assert sess.run(None, feeds)[0].shape == (3, 3)
    big = {"a": np.ones((1000, 1), np.float32), "b": np.ones((1, 1000), np.float32)}
    with pytest.raises(MemoryBudgetError, match=r"'y' of shape \[1000, 1000\]"):
        sess.run(None, big)  # the declared [N, N] evaluated at N = 1000
    assert calls == []


def test_an_upsample_concatenated_with_its_skip_is_sized_at_the_feeds_without_inference(
    monkeypatch,
):
    # a detector's neck: MaxPool halves H, Resize doubles it back, Concat with the skip. The two
    # heights are different expressions of H (equal for even H): the first run sizes every
    # tensor from the declared shapes, and an odd H still fails at the Concat, typed
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    model = _bytes(
        [
            helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Resize", ["p", "", "scales"], ["u"], mode="nearest"),
            helper.make_node("Concat", ["u", "x"], ["c"], axis=1),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        [tensor_info("x", np.float32, [1, 2, "H", "W"])],
        [tensor_info("y")],
        [scales],
    )
    sess = gossamer.load(model, backends=[])
    calls = _count_inferences(monkeypatch)
    x = np.arange(2 * 6 * 4, dtype=np.float32).reshape(1, 2, 6, 4)
    assert sess.run(None, {"x": x})[0].shape == (1, 4, 6, 4)
    assert calls == []
    with pytest.raises(NodeExecutionError, match="Concat"):
        sess.run(None, {"x": np.ones((1, 2, 5, 4), np.float32)})


def _unknown_dims_model() -> bytes:
    """x: [-1, 3, "?", "p2o.Dim.0"] (an exporter's unknowns and a dotted name) -> MaxPool ->
    Relu: every size follows from the feed, though the file names none of the first three."""
    x = tensor_info("x", np.float32, [-1, 3, "?", "p2o.Dim.0"])
    return _bytes(
        [
            helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Relu", ["p"], ["y"]),
        ],
        [x],
        [tensor_info("y")],
    )


def test_unknown_input_dims_are_named_so_runs_at_any_feed_infer_nothing(monkeypatch):
    sess = gossamer.load(_unknown_dims_model(), backends=[])
    assert sess.inputs[0].shape == (None, 3, None, "p2o.Dim.0")  # as declared, to the user
    assert sess.outputs[0].shape == (None, 3, None, "(p2o.Dim.0-2)//2+1")
    calls = _count_inferences(monkeypatch)
    for shape in ((1, 3, 8, 6), (2, 3, 5, 9), (1, 3, 8, 6), (1, 3, 8, 6)):
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        want = np.maximum(x[:, :, : shape[2] // 2 * 2, : shape[3] // 2 * 2], 0)
        want = want.reshape(shape[0], 3, shape[2] // 2, 2, shape[3] // 2, 2).max(axis=(3, 5))
        np.testing.assert_array_equal(sess.run(None, {"x": x})[0], want)
    assert calls == []  # neither the size checks nor the arena plans infer
    with pytest.raises(InputError, match="x"):
        sess.run(None, {"x": np.ones((1, 4, 8, 6), np.float32)})  # 3 channels, declared


def test_named_unknown_dims_are_distinct_and_avoid_the_models_own_names():
    from gossamer.refimpl.ir import Graph, Node, Value
    from gossamer.refimpl.memory_budget import unnamed_dims, with_unknown_dims_named

    graph = Graph(
        [Node("Add", ["in:0", "b"], ["y"])],
        [Value("in:0", "float32", (None, "in_0.1", None)), Value("b", "float32", (None, "b.0"))],
        [Value("y", "float32", None)],
        name="g",
        opsets={"": 17},
    )
    named, given = with_unknown_dims_named(graph)
    assert [v.shape for v in named.inputs] == [("in_0.0", "in_0.1", "in_0.2"), ("b.0_", "b.0")]
    assert given == {"in_0.0", "in_0.2", "b.0_"}
    assert graph.inputs[0].shape == (None, "in_0.1", None)  # the graph itself is unchanged
    assert with_unknown_dims_named(named) == (named, frozenset())  # nothing unknown: as it is
    derived = Value("y", "float32", ("(in_0.2-1)//2+1", "in_0.1*2", "b.0"))
    assert unnamed_dims(derived, given).shape == (None, "in_0.1*2", "b.0")


_LIMITED = """
import resource, sys
from gossamer.refimpl import memory_budget
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
print(memory_budget._address_space_limit(), memory_budget.available_memory())
"""


def test_the_address_space_limit_is_what_getrlimit_says():
    import resource

    from gossamer.refimpl.memory_budget import _address_space_limit

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    assert _address_space_limit() == (None if soft == resource.RLIM_INFINITY else soft)


def test_a_lower_address_space_limit_caps_the_memory_a_process_can_use():
    import resource
    import subprocess
    import sys

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = 48 << 30 if hard == resource.RLIM_INFINITY else min(48 << 30, hard)  # room to start
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED, str(limit)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    seen, available = map(int, done.stdout.split())
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert seen == limit and available == min(physical, limit)


def _symbolic_with_static_part() -> bytes:
    """x: [1, 2^18] (static) -> Relu, Sigmoid, Add, Relu -> y, beside n: [N, 4] -> Relu -> z: the
    symbolic input n defers the declared shapes' arena plan; x's part of it takes 2 MiB."""
    return _bytes(
        [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["x"], ["b"]),
         helper.make_node("Add", ["a", "b"], ["c"]), helper.make_node("Relu", ["c"], ["y"]),
         helper.make_node("Relu", ["n"], ["z"])],
        [tensor_info("x", np.float32, [1, 1 << 18]), tensor_info("n", np.float32, ["N", 4])],
        [tensor_info("y"), tensor_info("z")],
    )  # fmt: skip


def test_a_deferred_arena_that_could_exceed_the_budget_is_planned_and_refused_at_load():
    """A graph with symbolic inputs plans its declared shapes' arena at the first run that needs
    it, unless the arena's bound (memory_plan.arena_bound) passes the budget: then at load,
    where an arena over the budget is refused as for a static graph."""
    pytest.importorskip("gossamer.cython_kernels._native")
    if "cython" not in plugin_manager.all_backends():
        pytest.skip("cython backend not available")
    model = _symbolic_with_static_part()
    roomy = gossamer.load(model, backends=["cython"], max_memory="1G", optimize=0)
    assert roomy._program.plan_pending and roomy._program.arena is None  # nothing planned yet
    fits = gossamer.load(model, backends=["cython"], max_memory="3M", optimize=0)
    assert not fits._program.plan_pending and fits._program.arena.nbytes == 2 << 20
    with pytest.raises(MemoryBudgetError, match="arena of 2.0 MiB"):
        gossamer.load(model, backends=["cython"], max_memory="1536K", optimize=0)
    feeds = {"x": np.linspace(-1, 1, 1 << 18, dtype=np.float32)[None], "n": -np.ones((3, 4))}
    feeds["n"] = feeds["n"].astype(np.float32)
    for sess in (roomy, fits):
        y, z = sess.run(None, feeds)
        a = np.maximum(feeds["x"], 0)
        b = 1 / (1 + np.exp(-feeds["x"]))
        np.testing.assert_allclose(y, np.maximum(a + b, 0), rtol=1e-6)
        assert z.tolist() == [[0.0] * 4] * 3
    assert roomy._program.plan_pending  # its run had an arena for its shapes: never needed


def test_a_deferred_arena_over_the_budget_is_refused_at_the_first_run_that_plans_it(monkeypatch):
    """Where the load deferred the plan, the run that makes it checks it against the budget
    before binding it (a budget error, never an arena over the budget)."""
    pytest.importorskip("gossamer.cython_kernels._native")
    if "cython" not in plugin_manager.all_backends():
        pytest.skip("cython backend not available")
    from gossamer.refimpl import shape_arenas

    sess = gossamer.load(_symbolic_with_static_part(), backends=["cython"], max_memory="1G",
                         optimize=0)  # fmt: skip
    assert sess._program.plan_pending
    sess._sized.budget = 1536 << 10  # as if the load's bound had passed a smaller budget
    monkeypatch.setattr(shape_arenas, "MAX_PLANS", 0)  # no arena per shape: the declared one
    feeds = {"x": np.zeros((1, 1 << 18), np.float32), "n": np.zeros((2, 4), np.float32)}
    with pytest.raises(MemoryBudgetError, match="arena of 2.0 MiB"):
        sess.run(None, feeds)
    assert sess._program.plan_pending and sess._program.arena is None  # nothing bound
    sess._sized.budget = 3 << 20
    assert sess.run(None, feeds)[1].shape == (2, 4)
    assert not sess._program.plan_pending and sess._program.arena.nbytes == 2 << 20
