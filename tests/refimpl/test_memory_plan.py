"""Static memory planning: lifetimes, views, in-place reuse, greedy-by-size placement, verify()."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.refimpl.interpreter import Override, Program
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.memory_plan import MemoryPlan, MemoryPlanError, plan_memory
from hypothesis import given
from hypothesis import strategies as st

from gossamer import builtin_models
from tests.conftest import MODELS_DIR, ONNX_MODELS

F32 = "float32"


def graph(nodes, inputs, outputs, inits=None) -> Graph:
    ins = [Value(name, F32, shape) for name, shape in inputs.items()]
    return Graph(nodes, ins, [Value(o) for o in outputs], inits or {})


def matmul_chain(ops: list[str], n: int = 16) -> Graph:
    """x[4, n] -> op -> op -> ... -> y; MatMul against an n x n identity-ish weight."""
    nodes, prev = [], "x"
    inits = {"w": np.eye(n, dtype=np.float32)}
    for k, op in enumerate(ops):
        out = "y" if k == len(ops) - 1 else f"t{k}"
        nodes.append(Node(op, [prev, "w"] if op == "MatMul" else [prev], [out], name=f"n{k}"))
        prev = out
    return graph(nodes, {"x": (4, n)}, ["y"], inits)


# ---- hand-built graphs -----------------------------------------------------------------------
def test_chain_of_non_inplace_ops_needs_exactly_two_buffers():
    plan = plan_memory(matmul_chain(["MatMul"] * 5))  # every tensor: 4*16*4 = 256 bytes
    plan.verify()
    assert plan.arena_bytes == 2 * 256
    assert plan.peak_live_bytes == 2 * 256
    assert plan.sum_of_intermediates_bytes == 5 * 256


def test_relu_chain_runs_in_place_in_one_buffer():
    plan = plan_memory(matmul_chain(["MatMul", "Relu", "Sigmoid", "Relu"]))
    plan.verify()
    assert plan.arena_bytes == 256
    assert plan.num_inplace == 3
    assert plan.aliases == {"t1": "t0", "t2": "t1", "y": "t2"}


def test_reshape_is_a_view_of_its_input():
    g = graph(
        [
            Node("MatMul", ["x", "w"], ["t"]),
            Node("Reshape", ["t", "shape"], ["r"]),
            Node("Add", ["r", "shape_f"], ["y"]),
            Node("MatMul", ["t", "w"], ["u"]),  # t is read after the Add
        ],
        {"x": (4, 16)},
        ["y", "u"],
        {
            "w": np.eye(16, dtype=np.float32),
            "shape": np.array([64]),
            "shape_f": np.zeros(64, np.float32),
        },  # fmt: skip
    )
    plan = plan_memory(g)
    plan.verify()
    assert plan.tensors["r"].how == "view"
    assert plan.tensors["r"].offset == plan.tensors["t"].offset
    assert plan.tensors["y"].how == "own"  # r's buffer is still read as t by the MatMul


def test_add_writes_over_the_input_that_dies_there():
    g = graph(
        [Node("MatMul", ["x", "w"], ["a"]), Node("Relu", ["x"], ["b"]),
         Node("Add", ["b", "a"], ["y"])],
        {"x": (4, 16)}, ["y"], {"w": np.eye(16, dtype=np.float32)},
    )  # fmt: skip
    plan = plan_memory(g)
    plan.verify()
    assert plan.tensors["y"].how == "inplace"
    assert plan.tensors["y"].shares == "b"


def test_add_never_overwrites_an_input_that_is_read_later():
    g = graph(
        [Node("MatMul", ["x", "w"], ["a"]), Node("Add", ["a", "a"], ["b"]),
         Node("MatMul", ["a", "w"], ["c"]), Node("Add", ["b", "c"], ["y"])],
        {"x": (4, 16)}, ["y"], {"w": np.eye(16, dtype=np.float32)},
    )  # fmt: skip
    plan = plan_memory(g)
    plan.verify()
    assert plan.tensors["b"].how == "own"
    assert plan.tensors["y"].how == "inplace"


def test_add_only_reuses_an_input_of_the_output_shape():
    g = graph(
        [Node("MatMul", ["x", "w"], ["a"]), Node("ReduceSum", ["a", "ax"], ["s"]),
         Node("Add", ["s", "a2"], ["y"]), Node("Relu", ["a"], ["a2"])],
        {"x": (4, 16)}, ["y"],
        {"w": np.eye(16, dtype=np.float32), "ax": np.array([0])},
    )  # fmt: skip
    plan = plan_memory(g)  # s is [1, 16]: broadcast, so y may only take a2's buffer
    plan.verify()
    assert plan.tensors["s"].shape == (1, 16)
    assert plan.tensors["y"].shares == "a2"


def test_graph_output_is_never_overwritten_in_place():
    g = graph(
        [Node("MatMul", ["x", "w"], ["t"]), Node("Relu", ["t"], ["y"])],
        {"x": (4, 16)}, ["t", "y"], {"w": np.eye(16, dtype=np.float32)},
    )  # fmt: skip
    plan = plan_memory(g)
    plan.verify()
    assert plan.tensors["y"].how == "own"
    assert plan.tensors["t"].last == plan.num_steps


def test_inputs_initializers_and_constants_are_not_in_the_arena():
    g = graph(
        [Node("Constant", [], ["c"], {"value": np.ones((4, 16), np.float32)}),
         Node("Mul", ["w", "w"], ["w2"]), Node("MatMul", ["x", "w2"], ["t"]),
         Node("Add", ["t", "c"], ["y"])],
        {"x": (4, 16)}, ["y"], {"w": np.eye(16, dtype=np.float32)},
    )  # fmt: skip
    plan = plan_memory(g)
    assert set(plan.tensors) == {"t", "y"}
    assert plan.unplanned["c"].startswith("Constant output")
    assert plan.unplanned["w2"].startswith("computed from weights only")
    assert set(plan_memory(g, plan_constants=True).tensors) == {"c", "w2", "t", "y"}


def test_dynamic_dims_are_unplanned_until_input_shapes_fix_them():
    g = matmul_chain(["MatMul", "Relu"])
    g.inputs[0] = Value("x", F32, ("N", 16))
    plan = plan_memory(g)
    assert plan.tensors == {}
    assert plan.unplanned["t0"] == "dynamic dims N"
    fixed = plan_memory(g, input_shapes={"x": (2, 16)})
    assert fixed.tensors["y"].shape == (2, 16)
    assert fixed.unplanned == {}


def test_tensor_larger_than_any_arena_is_left_out_of_the_plan_without_overflow():
    g = matmul_chain(["Relu", "Relu"])
    g.inputs[0] = Value("x", F32, (2**40, 2**30))
    plan = plan_memory(g)
    assert plan.tensors == {}
    assert plan.unplanned["t0"] == "4.72e+21 bytes, more than any arena can hold"


def test_values_made_inside_a_body_are_not_planned_but_extend_outer_lifetimes():
    body = Graph([Node("Relu", ["t"], ["inner"])], [], [Value("inner")], name="body")
    g = graph(
        [Node("MatMul", ["x", "w"], ["t"]), Node("Relu", ["x"], ["u"]),
         Node("If", ["cond"], ["y"], {"then_branch": body, "else_branch": body}),
         Node("Add", ["u", "u"], ["z"])],
        {"x": (4, 16)}, ["y", "z"], {"w": np.eye(16, dtype=np.float32)},
    )  # fmt: skip
    g.inputs.append(Value("cond", "bool", ()))
    plan = plan_memory(g)
    plan.verify()
    assert "inner" not in plan.tensors and "inner" not in plan.unplanned
    assert plan.tensors["t"].last == 2  # the If reads t inside its body
    assert plan.subgraph_values == 2


def test_alignment_rounds_every_offset():
    plan = plan_memory(matmul_chain(["MatMul"] * 4, n=3), alignment=256)
    plan.verify()
    assert all(t.offset % 256 == 0 for t in plan.tensors.values())
    assert plan.arena_bytes == 2 * 256


def test_allocate_gives_an_aligned_arena_and_views_over_it():
    plan = plan_memory(matmul_chain(["MatMul", "Relu"]))
    arena = plan.allocate()
    assert arena.ctypes.data % 64 == 0 and arena.nbytes == plan.arena_bytes
    view = plan.view(arena, "y")
    view[...] = 7
    assert view.shape == (4, 16) and np.shares_memory(view, arena)
    assert plan.view(arena, "t0")[0, 0] == 7  # in place: same bytes


def test_verify_rejects_overlapping_live_tensors():
    plan = plan_memory(matmul_chain(["MatMul"] * 3))
    moved = {n: dataclasses.replace(t, offset=0) for n, t in plan.tensors.items()}
    broken = dataclasses.replace(
        plan, tensors=moved, buffers=[dataclasses.replace(b, offset=0) for b in plan.buffers]
    )
    with pytest.raises(MemoryPlanError, match="overlaps"):
        broken.verify()
    assert issubclass(MemoryPlanError, AssertionError)


# ---- executing in the arena: a plan whose lifetimes are wrong corrupts the outputs -------------
def run_in_arena(graph: Graph, plan: MemoryPlan, feeds: dict) -> list[np.ndarray]:
    """Runs the reference with every planned tensor living in its arena slot (as a backend would),
    the arena starting as NaN garbage."""
    arena = plan.allocate()
    arena[:] = 0xFF

    def in_arena(node: Node, fn):
        def impl(*args, **kwargs):
            out = fn(*args, **kwargs)
            outs = list(out) if isinstance(out, tuple) else [out]
            for k, name in enumerate(node.outputs):
                if name in plan.tensors:
                    slot = plan.view(arena, name)
                    slot[...] = outs[k]
                    outs[k] = slot
            return tuple(outs) if isinstance(out, tuple) else outs[0]

        return impl

    reference = Program(graph)
    overrides = {
        s.node.name: Override(in_arena(s.node, s.fn), "arena")
        for s in reference._steps  # the resolved reference functions
    }
    env = Program(graph, overrides=overrides).run(feeds)
    return [np.array(env[v.name]) for v in graph.outputs]


def benchmark_graph(name: str):
    small = {
        "tiny_cnn": {}, "mobilenet_v2": {"size": 32}, "resnet18": {"size": 32},
        "minilm_encoder": {"layers": 2, "seq": 16},
    }  # fmt: skip
    return graph_from_onnx(getattr(builtin_models, name)(**small[name]))


FEEDS = {
    "tiny_cnn": lambda rng: {"image": rng.random((1, 3, 64, 64), dtype=np.float32)},
    "mobilenet_v2": lambda rng: {"image": rng.random((1, 3, 32, 32), dtype=np.float32)},
    "resnet18": lambda rng: {"image": rng.random((1, 3, 32, 32), dtype=np.float32)},
    "minilm_encoder": lambda rng: {
        "input_ids": rng.integers(0, 1000, (1, 16)),
        "attention_mask": np.ones((1, 16), np.int64),
    },
}


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_running_in_the_arena_matches_the_interpreter(name):
    g = benchmark_graph(name)
    feeds = FEEDS[name](np.random.default_rng(0))
    feeds = {v.name: feeds[v.name] for v in g.inputs}
    plan = plan_memory(g, input_shapes={k: v.shape for k, v in feeds.items()})
    assert plan.num_inplace > 0 and not plan.unplanned
    expected = Program(g).run(feeds)
    for got, v in zip(run_in_arena(g, plan, feeds), g.outputs):
        np.testing.assert_array_equal(got, expected[v.name])


# ---- the benchmark models and the shared real models ---------------------------------------
BENCHMARK_SHAPES = {"tiny_cnn": {"image": (1, 3, 64, 64)}}


def check_bounds(plan: MemoryPlan) -> None:
    plan.verify()
    assert plan.peak_live_bytes <= plan.arena_bytes <= plan.sum_of_intermediates_bytes


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18", "minilm_encoder", "tiny_cnn"])
def test_benchmark_model_plan_is_valid_and_within_bounds(name):
    plan = plan_memory(graph_from_onnx(getattr(builtin_models, name)()), BENCHMARK_SHAPES.get(name))
    check_bounds(plan)
    assert plan.tensors and not plan.unplanned
    assert plan.arena_bytes < plan.sum_of_intermediates_bytes / 2


@pytest.mark.models
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_model_plan_is_valid_and_within_bounds(name):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not in {MODELS_DIR}")
    from tests.test_real_models import SHAPES

    plan = plan_memory(graph_from_onnx(str(path)), SHAPES.get(name))
    check_bounds(plan)
    assert plan.tensors
    assert all(not r.startswith("dynamic") for r in plan.unplanned.values())


@pytest.mark.models
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_real_model_runs_in_its_arena_bit_for_bit(name):
    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not in {MODELS_DIR}")
    from gossamer import load
    from tests.test_real_models import _feeds

    g = graph_from_onnx(str(path))
    feeds = _feeds(name, load(path))
    plan = plan_memory(g, {k: v.shape for k, v in feeds.items()})
    expected = Program(g).run(feeds)
    for got, v in zip(run_in_arena(g, plan, feeds), g.outputs):
        np.testing.assert_array_equal(got, expected[v.name])


# ---- random DAGs -------------------------------------------------------------------------------
OPS = ["Relu", "Sigmoid", "Add", "Mul", "Reshape", "Identity", "MatMul", "Concat", "Split"]


@st.composite
def random_dags(draw):
    """A DAG of random ops over random tensors; shapes come as `values`, not from inference."""
    n_inputs = draw(st.integers(1, 3))
    values = {f"in{k}": Value(f"in{k}", F32, (draw(st.integers(1, 40)),)) for k in range(n_inputs)}
    names, nodes = list(values), []
    for k in range(draw(st.integers(1, 25))):
        op = draw(st.sampled_from(OPS))
        arity = 2 if op in ("Add", "Mul", "MatMul", "Concat") else 1
        ins = [draw(st.sampled_from(names[-6:] if draw(st.booleans()) else names))
               for _ in range(arity)]  # fmt: skip
        outs = [f"v{k}_{j}" for j in range(2 if op == "Split" else 1)]
        for out in outs:
            same = draw(st.booleans()) and values[ins[0]].dtype == F32
            shape = values[ins[0]].shape if same else (draw(st.integers(0, 64)),)
            values[out] = Value(out, draw(st.sampled_from([F32, F32, "float16", "int8"])), shape)
        nodes.append(Node(op, ins, outs, name=f"n{k}"))
        names += outs
    produced = [n for n in names if not n.startswith("in")]
    extra = draw(st.lists(st.sampled_from(produced), max_size=3, unique=True))
    outputs = list(dict.fromkeys([produced[-1], *extra]))
    g = Graph(nodes, [values[f"in{k}"] for k in range(n_inputs)], [Value(o) for o in outputs])
    return g, values


def replay(g: Graph, plan: MemoryPlan) -> None:
    """Writes every planned tensor's id into the arena bytes in execution order, and checks that
    every read (and every graph output at the end) finds the bytes its producer wrote."""
    owner = np.full(plan.arena_bytes, -1)
    holds: dict[str, int] = {}

    def span(name: str) -> slice:
        t = plan.tensors[name]
        return slice(t.offset, t.offset + t.nbytes)

    def check(name: str, when: str) -> None:
        if name in plan.tensors:
            assert (owner[span(name)] == holds[name]).all(), f"{name} clobbered before {when}"

    for step, node in enumerate(g.topological_nodes()):
        for name in node.inputs:
            check(name, f"step {step}")
        for name in node.outputs:
            if name in plan.tensors:
                t = plan.tensors[name]
                holds[name] = holds[t.shares] if t.how == "view" else len(holds)
                owner[span(name)] = holds[name]
    for v in g.outputs:
        check(v.name, "the end")


@given(random_dags(), st.sampled_from([1, 16, 64]))
def test_random_dag_plans_are_valid(dag, alignment):
    g, values = dag
    plan = plan_memory(g, alignment=alignment, values=values)
    check_bounds(plan)
    replay(g, plan)
    assert set(plan.tensors) == {n for n in values if not n.startswith("in")}


# ---- the small-graph placement and the bound a deferred plan is checked against ----------------
def _both_placements(monkeypatch, g: Graph, **kwargs) -> tuple[MemoryPlan, MemoryPlan]:
    from gossamer.refimpl import memory_plan

    monkeypatch.setattr(memory_plan, "SMALL_PLACEMENT", 1 << 30)
    small = plan_memory(g, **kwargs)
    monkeypatch.setattr(memory_plan, "SMALL_PLACEMENT", 0)
    return small, plan_memory(g, **kwargs)


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18", "minilm_encoder", "tiny_cnn"])
def test_small_placement_places_as_the_numpy_one(monkeypatch, name):
    g = graph_from_onnx(getattr(builtin_models, name)())
    small, masked = _both_placements(monkeypatch, g, input_shapes=BENCHMARK_SHAPES.get(name))
    assert small == masked


@given(random_dags(), st.sampled_from([1, 16, 64]))
def test_random_dags_place_alike_and_within_the_bound(dag, alignment):
    from gossamer.refimpl import memory_plan

    g, values = dag
    plans = []
    for limit in (1 << 30, 0):  # (not monkeypatch: hypothesis runs this many times)
        saved, memory_plan.SMALL_PLACEMENT = memory_plan.SMALL_PLACEMENT, limit
        try:
            plans.append(plan_memory(g, alignment=alignment, values=values))
        finally:
            memory_plan.SMALL_PLACEMENT = saved
    assert plans[0] == plans[1]
    assert plans[0].arena_bytes <= memory_plan.arena_bound(g, values, alignment)


def test_the_bound_holds_on_the_benchmark_models():
    """arena_bound (twice the aligned sizes) is above the plan's arena, and twice the aligned
    bytes a session's size checks count is above it; a plan given the steps' order is the one
    that sorts them itself."""
    from gossamer.refimpl.memory_budget import RunSizes
    from gossamer.refimpl.memory_plan import arena_bound
    from gossamer.refimpl.shape_inference import infer_shapes

    for name in ("mobilenet_v2", "resnet18", "tiny_cnn"):
        g = graph_from_onnx(getattr(builtin_models, name)())
        if name in BENCHMARK_SHAPES:
            shapes = BENCHMARK_SHAPES[name]
            inputs = [Value(v.name, v.dtype, shapes[v.name], v.kind) for v in g.inputs]
            g = dataclasses.replace(g, inputs=inputs)
        values = infer_shapes(g)
        plan = plan_memory(g, values=values)
        assert plan.arena_bytes <= arena_bound(g, values)
        # what a Session compares with its budget before leaving a plan to the first run
        assert arena_bound(g, values) <= 2 * RunSizes(g, values, 1 << 40).declared_bytes
        assert plan_memory(g, values=values, order=g.topological_nodes()) == plan
